package io.jcni.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * A CNI_PATH directory of small sh plugins for protocol tests. {@link #recorder} plugins log each
 * call (environment and stdin) to {@code $JRT_LOG/NNN-<name>-<COMMAND>.{env,stdin}}, answer ADD
 * with {@code {"cniVersion": <list version>, "ips": [{"address": "10.99.0.<n>/24"}]}}, and fail
 * with {@code {"code": 11, "msg": "<name> refused <COMMAND>"}} while {@code $JRT_LOG/fail-<name>-<COMMAND>} exists.
 */
final class FakePlugins {
    final Path bin;
    final Path log;

    FakePlugins(Path root) throws IOException {
        this.bin = Files.createDirectories(root.resolve("bin"));
        this.log = Files.createDirectories(root.resolve("log"));
    }

    Path script(String name, String body) throws IOException {
        Path p = bin.resolve(name);
        Files.writeString(p, "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        return p;
    }

    /** A recording plugin whose ADD address ends in {@code n}. */
    Path recorder(String name, int n) throws IOException {
        return script(name, """
                me=$(basename "$0")
                seq=$(( $(cat "$JRT_LOG/seq" 2>/dev/null || echo 0) + 1 )); echo $seq > "$JRT_LOG/seq"
                f="$JRT_LOG/$(printf %03d $seq)-$me-$CNI_COMMAND"
                cat > "$f.stdin"
                env | grep -E '^(CNI_|JRT_|PATH=)' | sort > "$f.env"
                if [ -e "$JRT_LOG/fail-$me-$CNI_COMMAND" ]; then
                  echo '{"code": 11, "msg": "'$me' refused '$CNI_COMMAND'", "details": "as told"}'; exit 1
                fi
                v=$(sed -n 's/^{"cniVersion":"\\([^"]*\\)".*/\\1/p' "$f.stdin")
                [ "$CNI_COMMAND" = ADD ] && printf '{"cniVersion": "%s", "ips": [{"address": "10.99.0.N/24"}]}' "$v"
                exit 0
                """.replace("N/24", n + "/24"));
    }

    void failOn(String name, String command) throws IOException {
        Files.writeString(log.resolve("fail-" + name + "-" + command), "");
    }

    /** Logged calls in order: "name-COMMAND". */
    List<String> calls() throws IOException {
        List<String> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(log)) {
            for (Path p : s.sorted().toList()) {
                String n = p.getFileName().toString();
                if (n.endsWith(".stdin")) {
                    out.add(n.substring(4, n.length() - ".stdin".length()));
                }
            }
        }
        return out;
    }

    /** The stdin of the i-th logged call (0-based). */
    String stdin(int i) throws IOException {
        return Files.readString(logged(i, ".stdin"));
    }

    String env(int i) throws IOException {
        return Files.readString(logged(i, ".env"));
    }

    private Path logged(int i, String ext) throws IOException {
        try (Stream<Path> s = Files.list(log)) {
            return s.filter(p -> p.getFileName().toString().endsWith(ext))
                    .sorted()
                    .toList()
                    .get(i);
        }
    }

    void clearLog() throws IOException {
        try (Stream<Path> s = Files.list(log)) {
            for (Path p : s.toList()) {
                Files.delete(p);
            }
        }
    }
}
