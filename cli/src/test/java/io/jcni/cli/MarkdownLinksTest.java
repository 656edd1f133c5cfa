package io.jcni.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every relative link in the repository's Markdown files resolves: the file or directory exists,
 * and a {@code #fragment} names a heading of the target (GitHub's anchor rules). Links to the
 * web are not followed (nothing here may reach the network).
 */
class MarkdownLinksTest {
    static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    /** {@code [text](target)} and {@code ![alt](target)}, target up to a space or the closing parenthesis. */
    static final Pattern LINK = Pattern.compile("\\[[^\\]]*\\]\\(([^)\\s]+)(?:\\s+\"[^\"]*\")?\\)");

    static final Pattern FENCE = Pattern.compile("^\\s*(```|~~~)");

    static List<Path> markdownFiles() throws IOException {
        try (Stream<Path> s = Files.walk(ROOT)) {
            return s.filter(p -> p.toString().endsWith(".md"))
                    .filter(p -> {
                        Path rel = ROOT.relativize(p);
                        for (Path part : rel) {
                            String n = part.toString();
                            if (n.equals("target") || n.startsWith(".") || n.equals("node_modules")) {
                                return false;
                            }
                        }
                        return true;
                    })
                    .sorted()
                    .toList();
        }
    }

    /** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
    static String anchor(String heading) {
        String h = heading.trim().toLowerCase(Locale.ROOT).replaceAll("[`*_~]", "");
        h = h.replaceAll("\\[([^\\]]*)\\]\\([^)]*\\)", "$1");
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < h.length(); i++) {
            char c = h.charAt(i);
            if (Character.isLetterOrDigit(c) || c == '-' || c == '_') {
                b.append(c);
            } else if (c == ' ') {
                b.append('-');
            }
        }
        return b.toString();
    }

    static Set<String> anchors(Path md) throws IOException {
        Set<String> out = new HashSet<>();
        Set<String> seen = new HashSet<>();
        boolean fenced = false;
        for (String line : Files.readAllLines(md)) {
            if (FENCE.matcher(line).find()) {
                fenced = !fenced;
            }
            if (!fenced && line.startsWith("#")) {
                String a = anchor(line.replaceFirst("^#+", ""));
                String unique = a;
                for (int n = 1; !seen.add(unique); n++) {
                    unique = a + "-" + n;
                }
                out.add(unique);
            }
        }
        return out;
    }

    @Test
    void everyRelativeLinkResolves() throws IOException {
        List<Path> files = markdownFiles();
        assertTrue(files.contains(ROOT.resolve("README.md")), "the README is among the files checked");
        List<String> broken = new ArrayList<>();
        int checked = 0;
        for (Path md : files) {
            boolean fenced = false;
            int lineNo = 0;
            for (String line : Files.readAllLines(md)) {
                lineNo++;
                if (FENCE.matcher(line).find()) {
                    fenced = !fenced;
                    continue;
                }
                if (fenced) {
                    continue;
                }
                String prose = line.replaceAll("`[^`]*`", "");
                Matcher m = LINK.matcher(prose);
                while (m.find()) {
                    String target = m.group(1);
                    if (target.matches("^[a-zA-Z][a-zA-Z0-9+.-]*:.*")) {
                        continue; // http:, https:, mailto:
                    }
                    checked++;
                    String where = ROOT.relativize(md) + ":" + lineNo + ": " + target;
                    int hash = target.indexOf('#');
                    String file = hash < 0 ? target : target.substring(0, hash);
                    String fragment = hash < 0 ? null : target.substring(hash + 1);
                    Path resolved =
                            file.isEmpty() ? md : md.getParent().resolve(file).normalize();
                    if (!resolved.startsWith(ROOT)) {
                        broken.add(where + " (points outside the repository)");
                    } else if (!Files.exists(resolved)) {
                        broken.add(where + " (no such file)");
                    } else if (fragment != null
                            && resolved.toString().endsWith(".md")
                            && !anchors(resolved).contains(fragment)) {
                        broken.add(where + " (no such heading)");
                    }
                }
            }
        }
        assertTrue(checked > 10, "links were found to check: " + checked);
        assertEquals(List.of(), broken, "broken links");
    }
}
