package io.jcni.agent.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.jcni.cli.Main;
import io.jcni.testkit.Jars;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** jcni's CNI plugins installed as a node's runtime finds them, for the simulated nodes' tests. */
public final class TestPlugins {
    private TestPlugins() {}

    /**
     * {@code jcni install --no-aot-cache} into {@code base/cni-bin} (jars in {@code base/lib}), of jars
     * built from this test's class path; returns the plugin directory (a node's {@code CNI_PATH}).
     */
    public static Path install(Path base) throws IOException {
        Path jars = Jars.fromClassPath(Files.createDirectories(base.resolve("jars")));
        Path bin = base.resolve("cni-bin");
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code = Main.run(
                new String[] {
                    "install",
                    "--dir",
                    bin.toString(),
                    "--lib-dir",
                    base.resolve("lib").toString(),
                    "--from",
                    jars.toString(),
                    "--no-aot-cache"
                },
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(0, code, "jcni install: " + out + err);
        return bin;
    }
}
