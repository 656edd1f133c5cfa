package io.jcni.testkit;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;

/**
 * The jars {@code jcni install --from DIR} takes, built from a test's own class path: in a
 * reactor build the project's modules are {@code target/classes} directories and
 * {@code cli/target/lib} does not exist before {@code package}, so each module's classes become
 * {@code jcni-<module>.jar} and each dependency jar is copied, test frameworks left out.
 */
public final class Jars {
    private Jars() {}

    /** Fills {@code dir} (which exists) and returns it. */
    public static Path fromClassPath(Path dir) throws IOException {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        for (String entry : cp.split(File.pathSeparator)) {
            Path p = Path.of(entry);
            String name = p.getFileName() == null ? "" : p.getFileName().toString();
            if (Files.isDirectory(p) && name.equals("classes") && p.getParent().getFileName().toString().equals("target")) {
                jar(p, dir.resolve("jcni-" + p.getParent().getParent().getFileName() + ".jar"));
            } else if (Files.isRegularFile(p) && name.endsWith(".jar")
                    && !name.matches("(junit|opentest4j|apiguardian|surefire|jcni-testkit|jcni-e2e).*")) {
                Files.copy(p, dir.resolve(name));
            }
        }
        return dir;
    }

    private static void jar(Path classes, Path out) throws IOException {
        try (JarOutputStream jos = new JarOutputStream(Files.newOutputStream(out)); Stream<Path> s = Files.walk(classes)) {
            for (Path f : s.filter(Files::isRegularFile).sorted().toList()) {
                jos.putNextEntry(new JarEntry(classes.relativize(f).toString().replace(File.separatorChar, '/')));
                Files.copy(f, jos);
                jos.closeEntry();
            }
        }
    }
}
