package io.jcni.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The JVM options of the daemon and the agent live in bin/lib/jvm-options.env only: bin/jcni
 * reads it, jcni install copies it next to the jars, and the systemd unit reads that copy.
 */
class JvmOptionsTest {
    static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

    /** The file's KEY="VALUE" lines, as sh and systemd read them. */
    static Map<String, String> parse(Path file) throws Exception {
        Map<String, String> out = new LinkedHashMap<>();
        for (String line : Files.readAllLines(file)) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            int eq = line.indexOf('=');
            assertTrue(eq > 0 && line.endsWith("\"") && line.charAt(eq + 1) == '"', () -> "not KEY=\"VALUE\": " + line);
            out.put(line.substring(0, eq), line.substring(eq + 2, line.length() - 1));
        }
        return out;
    }

    @Test
    void theLauncherTheUnitAndTheInstallShareOneFile(@TempDir Path tmp) throws Exception {
        Path env = ROOT.resolve("bin/lib/jvm-options.env");
        Map<String, String> options = parse(env);
        assertEquals(
                List.of("JCNI_DAEMON_JVM_OPTIONS", "JCNI_AGENT_JVM_OPTIONS", "JCNI_CLI_JVM_OPTIONS"),
                List.copyOf(options.keySet()));
        assertTrue(options.get("JCNI_DAEMON_JVM_OPTIONS").matches(".*-Xmx\\d+m.*"), "the daemon's heap is bounded");
        assertTrue(options.get("JCNI_AGENT_JVM_OPTIONS").matches(".*-Xmx\\d+m.*"), "the agent's heap is bounded");

        String launcher = Files.readString(ROOT.resolve("bin/jcni"));
        assertTrue(launcher.contains(". \"$root/bin/lib/jvm-options.env\""));
        for (String key : options.keySet()) {
            assertTrue(launcher.contains("$" + key), () -> "bin/jcni uses " + key);
        }
        assertFalse(launcher.matches("(?s).*-Xm[sx]\\d.*"), "no heap option of its own in bin/jcni");

        String unit = Files.readString(ROOT.resolve("deploy/jcni.service"));
        assertTrue(unit.contains("EnvironmentFile=/opt/jcni/lib/" + InstallCommand.JVM_OPTIONS_FILE));
        assertTrue(unit.contains("$JCNI_DAEMON_JVM_OPTIONS"));
        assertFalse(unit.matches("(?s).*-Xm[sx]\\d.*"), "no heap option of its own in the unit");

        String before = System.getProperty("jcni.home");
        System.setProperty("jcni.home", ROOT.toString());
        try {
            Path lib = tmp.resolve("lib");
            Path from = io.jcni.testkit.Jars.fromClassPath(Files.createDirectory(tmp.resolve("from")));
            CliRunner r = CliRunner.run(
                    "install",
                    "--dir",
                    tmp.resolve("bin").toString(),
                    "--lib-dir",
                    lib.toString(),
                    "--from",
                    from.toString(),
                    "--no-aot-cache");
            assertEquals(0, r.code(), r.err());
            assertEquals(Files.readString(env), Files.readString(lib.resolve(InstallCommand.JVM_OPTIONS_FILE)));
        } finally {
            if (before == null) {
                System.clearProperty("jcni.home");
            } else {
                System.setProperty("jcni.home", before);
            }
        }
    }
}
