package io.jcni.cni;

import static org.junit.jupiter.api.Assertions.*;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A delegate that hangs is killed with everything it started; a delegate never sees loader variables. */
class DelegateTest {
    Path dir;

    @AfterEach
    void removeDir() throws IOException {
        if (dir != null) {
            // whatever a failed run left running: the script's own processes, found by their pid files
            try (Stream<Path> s = Files.list(dir)) {
                s.filter(p -> p.toString().endsWith(".child")).forEach(p -> {
                    try {
                        ProcessHandle.of(Long.parseLong(Files.readString(p).strip()))
                                .ifPresent(ProcessHandle::destroyForcibly);
                    } catch (IOException | NumberFormatException ignored) {
                        // nothing to kill
                    }
                });
            }
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    File script(String body) throws IOException {
        dir = Files.createTempDirectory(Path.of("/tmp"), "jhd-delegate-");
        Path exe = dir.resolve("ipam");
        Files.writeString(exe, "#!/bin/sh\n" + body);
        Files.setPosixFilePermissions(exe, PosixFilePermissions.fromString("rwx------"));
        return exe.toFile();
    }

    /**
     * The delegate leaves a child that keeps its stdout open and sleeps itself: the call ends at
     * its deadline with "try again later", and the child is dead too (the whole group was killed).
     */
    @Test
    void hangingDelegateAndItsChildrenAreKilledAtTheDeadline() throws Exception {
        File exe = script("sleep 1000 &\necho $! > \"$0.child\"\nsleep 1000\n");
        Path childPidFile = Path.of(exe.getPath() + ".child");
        var call = CompletableFuture.supplyAsync(
                () -> {
                    try {
                        Delegate.run(exe, "ipam", Map.of("PATH", "/usr/bin:/bin"), new byte[0], 1500, line -> {});
                        return null;
                    } catch (CniError e) {
                        return e;
                    }
                },
                r -> Thread.ofPlatform().daemon().start(r));
        // a generous bound only to turn a hang into a failure, not a timing assertion
        CniError e = call.get(120, TimeUnit.SECONDS);
        assertNotNull(e, "a hanging delegate must fail");
        assertEquals(CniError.TRY_AGAIN_LATER, e.code(), e.getMessage());
        long child = Long.parseLong(Files.readString(childPidFile).strip());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (ProcessHandle.of(child).map(ProcessHandle::isAlive).orElse(false) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertFalse(
                ProcessHandle.of(child).map(ProcessHandle::isAlive).orElse(false), "the delegate's child was killed");
    }

    @Test
    void loaderAndInterpreterVariablesAreScrubbed() throws Exception {
        File exe = script("env\n");
        Map<String, String> env = new HashMap<>(Map.of(
                "PATH",
                "/usr/bin:/bin",
                "CNI_COMMAND",
                "ADD",
                "LD_PRELOAD",
                "/tmp/evil.so",
                "LD_LIBRARY_PATH",
                "/tmp",
                "GCONV_PATH",
                "/tmp",
                "JAVA_TOOL_OPTIONS",
                "-javaagent:x",
                "BASH_ENV",
                "/tmp/x",
                "GLIBC_TUNABLES",
                "x"));
        byte[] out = Delegate.run(exe, "ipam", env, new byte[0], 60_000, line -> {});
        String seen = new String(out, StandardCharsets.UTF_8);
        assertTrue(seen.contains("CNI_COMMAND=ADD"), seen);
        for (String bad : new String[] {
            "LD_PRELOAD", "LD_LIBRARY_PATH", "GCONV_PATH", "JAVA_TOOL_OPTIONS", "BASH_ENV", "GLIBC_TUNABLES"
        }) {
            assertFalse(seen.contains(bad + "="), bad + " reached the delegate: " + seen);
        }
    }
}
