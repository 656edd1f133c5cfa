package io.jcni.cni.io;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Whole files in place with the mode asked for, whatever the umask, and no temp file left behind. */
class AtomicFilesTest {
    static List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    static String mode(Path p) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }

    @Test
    void writeReplacesTheFileWithTheModeAskedForAndCreatesTheParent(@TempDir Path tmp) throws IOException {
        Path file = tmp.resolve("sub/state.json");
        AtomicFiles.write(file, "one".getBytes(StandardCharsets.UTF_8), "rw-------", "rwx------");
        assertEquals("rwx------", mode(tmp.resolve("sub")));
        assertEquals("rw-------", mode(file));
        // group and others' bits are what a 022 umask takes away from a created file: they must come through
        AtomicFiles.write(file, "two".getBytes(StandardCharsets.UTF_8), "rwxrwxr-x", "rwx------");
        assertEquals("two", Files.readString(file));
        assertEquals("rwxrwxr-x", mode(file));
        assertEquals(List.of("state.json"), names(tmp.resolve("sub")), "no temp file left");
    }

    @Test
    void moveIntoPlaceReplacesTheTargetWithTheFinishedFile(@TempDir Path tmp) throws IOException {
        Path target = Files.writeString(tmp.resolve("cache"), "old");
        Path finished = Files.writeString(tmp.resolve(".cache.tmp"), "new");
        AtomicFiles.moveIntoPlace(finished, target, "rw-rw-r--");
        assertEquals("new", Files.readString(target));
        assertEquals("rw-rw-r--", mode(target));
        assertEquals(List.of("cache"), names(tmp));
    }
}
