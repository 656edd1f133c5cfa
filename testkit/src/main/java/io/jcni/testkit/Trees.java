package io.jcni.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/** Removing a test's directory tree, also one that a container runtime left mounts in. */
public final class Trees {
    private Trees() {}

    /**
     * Unmounts whatever is mounted under {@code dir} (deepest first, lazily, as podman's and
     * containerd's storage may still hold them), then deletes the tree; nothing when it does not exist.
     */
    public static void remove(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try {
            String prefix = dir.toRealPath() + "/";
            List<String> mounts = Files.readAllLines(Path.of("/proc/self/mounts")).stream()
                    .map(l -> l.split(" ")[1])
                    .map(m -> m.replace("\\040", " "))
                    .filter(m -> m.startsWith(prefix))
                    .sorted(Comparator.reverseOrder())
                    .toList();
            for (String m : mounts) {
                Commands.of("umount", "-l", m).result();
            }
            try (Stream<Path> s = Files.walk(dir)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not remove " + dir, e);
        }
    }
}
