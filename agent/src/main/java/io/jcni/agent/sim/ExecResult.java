package io.jcni.agent.sim;

/** How a command run to completion ended: its exit code and what it printed on each stream. */
public record ExecResult(int exitCode, String stdout, String stderr) {
    public boolean ok() {
        return exitCode == 0;
    }

    /** Both streams, for failure messages. */
    public String output() {
        return stderr.isEmpty() ? stdout : stdout.isEmpty() ? stderr : stdout + "\n" + stderr;
    }
}
