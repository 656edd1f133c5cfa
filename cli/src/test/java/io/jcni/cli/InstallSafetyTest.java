package io.jcni.cli;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.netlink.ns.NamedNetns;
import io.jcni.testkit.Commands;
import io.jcni.testkit.Jars;
import io.jcni.testkit.TestNames;
import io.jcni.testkit.TestNetns;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code jcni install} writes what root later executes for every pod: it refuses targets others
 * could swap or fill, writes with fixed modes whatever the umask, and trains the AOT cache in a
 * network namespace of its own, killed after a timeout.
 */
class InstallSafetyTest {
    /** The trainings' namespaces, should a training leave one. */
    @AutoClose
    final TestNetns namespaces = new TestNetns();

    @TempDir
    static Path shared;

    static Path from;

    @BeforeAll
    static void buildJarSource() throws IOException {
        from = Jars.fromClassPath(Files.createDirectory(shared.resolve("from")));
    }

    private static CliRunner install(Path bin, Path lib) {
        return CliRunner.run(
                "install",
                "--dir",
                bin.toString(),
                "--lib-dir",
                lib.toString(),
                "--from",
                from.toString(),
                "--scripts",
                "--no-aot-cache");
    }

    private static void refused(Path bin, Path lib, String... fragments) {
        CliRunner r = install(bin, lib);
        assertEquals(1, r.code(), r.out() + r.err());
        assertEquals(1, r.err().lines().count(), r.err());
        for (String f : fragments) {
            assertTrue(r.err().contains(f), () -> r.err() + " lacks " + f);
        }
    }

    private static String mode(Path p) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }

    @Test
    void symlinkedOrSharedTargetsAreRefusedBeforeAnythingIsWritten(@TempDir Path tmp) throws IOException {
        Path real = Files.createDirectory(tmp.resolve("real"));
        Path link = Files.createSymbolicLink(tmp.resolve("link"), real);
        Path lib = tmp.resolve("lib");
        refused(link, lib, "--dir " + link + ": is a symbolic link");
        refused(tmp.resolve("bin"), link, "--lib-dir " + link + ": is a symbolic link");
        try (var s = Files.list(real)) {
            assertEquals(List.of(), s.toList());
        }

        Path groupWritable = Files.createDirectory(tmp.resolve("gw"));
        Files.setPosixFilePermissions(groupWritable, PosixFilePermissions.fromString("rwxrwxr-x"));
        refused(groupWritable, lib, groupWritable + " is writable by its group (mode 775)");
        Path worldWritable = Files.createDirectory(tmp.resolve("ww"));
        Files.setPosixFilePermissions(worldWritable, PosixFilePermissions.fromString("rwxr-xrwx"));
        refused(worldWritable.resolve("bin"), lib, worldWritable + " is writable by others (mode 757)");
        // the sticky bit (as /tmp) protects what is below, not the directory itself
        Files.setAttribute(worldWritable, "unix:mode", 01777);
        refused(worldWritable, lib, "writable by group and others (mode 1777)");
        assertFalse(Files.exists(lib), "nothing written when a target is refused");
        CliRunner ok = install(worldWritable.resolve("bin"), lib);
        assertEquals(0, ok.code(), ok.err());

        Path foreign = Files.createDirectory(tmp.resolve("foreign"));
        Files.setAttribute(foreign, "unix:uid", 65534);
        refused(foreign, lib, "owned by uid 65534");
    }

    /** A child JVM with umask 000 installs into new directories: they are 0755 all the same. */
    @Test
    void modesAreFixedWhateverTheUmask(@TempDir Path tmp) throws Exception {
        Path bin = tmp.resolve("new/bin");
        Path lib = tmp.resolve("new/lib");
        List<String> cmd = new ArrayList<>(List.of("sh", "-c", "umask 000; exec \"$@\"", "sh"));
        cmd.addAll(Jars.javaCommand(
                List.of(),
                "io.jcni.cli.Main",
                "install",
                "--dir",
                bin.toString(),
                "--lib-dir",
                lib.toString(),
                "--from",
                from.toString(),
                "--scripts",
                "--no-aot-cache"));
        Commands.of(cmd).timeout(Duration.ofSeconds(120)).ok();
        for (Path d : List.of(tmp.resolve("new"), bin, lib)) {
            assertEquals("rwxr-xr-x", mode(d), d.toString());
        }
        try (var s = Files.list(lib)) {
            for (Path f : s.toList()) {
                assertEquals("rw-r--r--", mode(f), f.toString());
            }
        }
        assertEquals("rwxr-xr-x", mode(bin.resolve("jcni-bridge")));
    }

    /** A stand-in for java that records the network namespace it runs in and writes the cache file it is asked for. */
    private static Path fakeJava(Path dir, String body) throws IOException {
        Path f = dir.resolve("fake-java");
        Files.writeString(f, "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwxr-xr-x"));
        return f;
    }

    private static String netnsName() {
        return "jhi-aot-" + TestNames.RUN;
    }

    @Test
    void theTrainingRunsInANetworkNamespaceOfItsOwnRemovedAfterwards(@TempDir Path tmp) throws Exception {
        Path lib = Files.createDirectory(tmp.resolve("lib"));
        Path seen = tmp.resolve("netns-seen");
        Path java = fakeJava(tmp, """
                readlink /proc/self/ns/net > '%s'
                for a in "$@"; do case "$a" in -XX:AOTCacheOutput=*) echo cache > "${a#-XX:AOTCacheOutput=}";; esac; done
                """.formatted(seen));
        String ns = namespaces.adopt(netnsName());
        Path cache = InstallCommand.buildCache(java, lib, ns, Duration.ofSeconds(120));
        assertEquals(lib.resolve("jcni.aot"), cache);
        String host = Files.readSymbolicLink(Path.of("/proc/self/ns/net")).toString();
        assertNotEquals(host, Files.readString(seen).strip(), "the training ran in the host's network namespace");
        assertFalse(NamedNetns.exists(ns), "the training's namespace is removed");
        assertEquals("rw-r--r--", mode(cache));
    }

    @Test
    @Timeout(
            value = 120,
            threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // fails, not hangs, when the training is never killed
    void aHangingTrainingIsKilledAfterTheTimeout(@TempDir Path tmp) throws Exception {
        Path lib = Files.createDirectory(tmp.resolve("lib"));
        String marker = "3141.5" + TestNames.RUN_NUMBER; // a number: sleep's argument
        Path java = fakeJava(tmp, "sleep " + marker + " & wait");
        String ns = namespaces.adopt(netnsName() + "h");
        assertNull(InstallCommand.buildCache(java, lib, ns, Duration.ofSeconds(2)));
        assertFalse(Files.exists(lib.resolve("jcni.aot")));
        assertFalse(NamedNetns.exists(ns), "the training's namespace is removed");
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (ProcessHandle.allProcesses()
                        .anyMatch(h -> h.info().commandLine().orElse("").contains(marker))
                && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertTrue(
                ProcessHandle.allProcesses()
                        .noneMatch(h -> h.info().commandLine().orElse("").contains(marker)),
                "the training and its children were killed");
    }
}
