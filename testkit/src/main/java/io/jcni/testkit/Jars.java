package io.jcni.testkit;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;

/**
 * The test's own class path, and what is made from it: the command line of a JVM that runs one of
 * its classes in a process of its own, and the jars {@code jcni install --from DIR} takes.
 */
public final class Jars {
    private Jars() {}

    /**
     * The test's class path, every entry spelled out: surefire's own list when it runs the test
     * (its JVM's {@code java.class.path} may be a single jar whose manifest names the rest).
     */
    public static String classPath() {
        return System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    }

    /** The {@code java} executable of the JVM running the test. */
    public static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /**
     * {@code java --enable-native-access=ALL-UNNAMED JVM_OPTIONS… -cp <the test's class path> MAIN ARGS…}:
     * a class of the test's class path as a process of its own.
     */
    public static List<String> javaCommand(List<String> jvmOptions, String mainClass, String... args) {
        List<String> cmd = new ArrayList<>(List.of(java(), "--enable-native-access=ALL-UNNAMED"));
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-cp", classPath(), mainClass));
        cmd.addAll(List.of(args));
        return cmd;
    }

    /**
     * Fills {@code dir} (which exists) with the jars {@code jcni install --from} takes and returns it:
     * in a reactor build the project's modules are {@code target/classes} directories and
     * {@code cli/target/lib} does not exist before {@code package}, so each module's classes become
     * {@code jcni-<module>.jar} and each dependency jar is copied, test frameworks left out.
     */
    public static Path fromClassPath(Path dir) throws IOException {
        for (String entry : classPath().split(File.pathSeparator)) {
            Path p = Path.of(entry);
            String name = p.getFileName() == null ? "" : p.getFileName().toString();
            if (Files.isDirectory(p)
                    && name.equals("classes")
                    && p.getParent().getFileName().toString().equals("target")) {
                jar(p, dir.resolve("jcni-" + p.getParent().getParent().getFileName() + ".jar"));
            } else if (Files.isRegularFile(p)
                    && name.endsWith(".jar")
                    && !name.matches("(junit|opentest4j|apiguardian|surefire|jcni-testkit|jcni-e2e).*")) {
                Files.copy(p, dir.resolve(name));
            }
        }
        return dir;
    }

    private static void jar(Path classes, Path out) throws IOException {
        try (JarOutputStream jos = new JarOutputStream(Files.newOutputStream(out));
                Stream<Path> s = Files.walk(classes)) {
            for (Path f : s.filter(Files::isRegularFile).sorted().toList()) {
                jos.putNextEntry(new JarEntry(classes.relativize(f).toString().replace(File.separatorChar, '/')));
                Files.copy(f, jos);
                jos.closeEntry();
            }
        }
    }
}
