package io.jcni.testkit;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class CommandsTest {
    @Test
    void outputAndExitCode() {
        assertEquals("out\nerr\n", Commands.run("sh", "-c", "echo out; echo err >&2"));
        Commands.Result r = Commands.of("sh", "-c", "echo out; echo err >&2; exit 3")
                .separateErr()
                .result();
        assertEquals(3, r.code());
        assertEquals("out\n", r.out());
        assertEquals("err\n", r.err());
        assertSame(r, r.expect(3));
    }

    @Test
    void aFailureNamesTheCommandWhatItPrintedAndWhatItWasFor() {
        Commands.CommandFailedException e = assertThrows(
                Commands.CommandFailedException.class, () -> Commands.run("sh", "-c", "echo the-reason; exit 2"));
        assertTrue(e.getMessage().contains("sh -c echo the-reason; exit 2 exited 2"), e.getMessage());
        assertTrue(e.getMessage().contains("the-reason"), e.getMessage());
        assertEquals(2, e.result().code());
        IllegalStateException labelled = assertThrows(
                IllegalStateException.class, () -> Commands.of("false").result().ok("the check"));
        assertTrue(labelled.getMessage().startsWith("the check: "), labelled.getMessage());
    }

    @Test
    void stdinEnvironmentAndBytes() {
        byte[] bytes = {(byte) 0xff, 0, 'x'};
        assertArrayEquals(bytes, Commands.of("cat").stdin(bytes).result().stdout(), "bytes pass unchanged");
        assertEquals(
                "v|\n",
                Commands.of("sh", "-c", "echo \"$JCNI_TEST_VAR|$HOME\"")
                        .clearEnv()
                        .env("JCNI_TEST_VAR", "v")
                        .ok());
        // a command that reads none of a large stdin is no error
        assertEquals(0, Commands.of("true").stdin(new byte[1 << 20]).result().code());
    }

    @Test
    void aCommandPastItsLimitIsKilledWithItsChildren() {
        String sleep = "sleep 3" + TestNames.RUN_NUMBER + ".25"; // this JVM's, and long
        long t0 = System.nanoTime();
        Commands.Result r = Commands.of("sh", "-c", "echo started; " + sleep + " & wait")
                .timeout(Duration.ofMillis(500))
                .result();
        assertEquals(Commands.TIMED_OUT, r.code());
        assertTrue(r.out().contains("started"), r.out());
        assertTrue(r.err().contains("timed out after"), r.err());
        assertTrue(System.nanoTime() - t0 < Duration.ofSeconds(60).toNanos(), "it did not wait for the sleep");
        assertTrue(
                ProcessHandle.allProcesses()
                        .noneMatch(h -> h.info().commandLine().orElse("").endsWith(sleep)),
                "the child was killed too");
    }

    @Test
    void aCommandThatCannotStartIs127() {
        Commands.Result r = Commands.of("/nonexistent/jcni-no-such-command").result();
        assertEquals(Commands.NOT_STARTED, r.code());
        assertFalse(r.err().isEmpty());
    }

    @Test
    void missingNamesWhatIsNotInstalled() {
        assertEquals(
                List.of("jcni-no-such-tool", "/nonexistent/x"),
                Commands.missing("sh", "jcni-no-such-tool", "/bin/sh", "/nonexistent/x"));
        assertTrue(Commands.installed("sh"));
        assertEquals("x", new String(Commands.of("printf", "x").result().stdout(), StandardCharsets.UTF_8));
    }
}
