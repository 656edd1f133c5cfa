package io.jcni.agent;

import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

/**
 * The agent's log: one line per event, timestamped, to stderr (journald and kubectl logs take it
 * from there). Details (each kernel change as its command) are indented under their event.
 */
public final class AgentLog {
    private final PrintStream out;

    public AgentLog(PrintStream out) {
        this.out = out;
    }

    public void info(String message) {
        line("", message);
    }

    public void warn(String message) {
        line("WARNING ", message);
    }

    /** A kernel change or similar detail under the previous line. */
    public void detail(String message) {
        synchronized (out) {
            out.println("    " + message);
            out.flush();
        }
    }

    /**
     * Details under the previous line, written at once: a start-up pass at thousands of peers has
     * three per peer, a write and flush each would cost more than the pass's own netlink work.
     */
    public void details(java.util.List<String> messages) {
        if (messages.isEmpty()) {
            return;
        }
        StringBuilder b = new StringBuilder(messages.size() * 64);
        for (String m : messages) {
            b.append("    ").append(m).append(System.lineSeparator());
        }
        synchronized (out) {
            out.print(b);
            out.flush();
        }
    }

    private void line(String level, String message) {
        synchronized (out) {
            out.println(Instant.now().truncatedTo(ChronoUnit.MILLIS) + " jcni agent: " + level + message);
            out.flush();
        }
    }

    /** A duration as the flags take it: {@code 24h}, {@code 10m}, {@code 23h59m57s}. */
    static String duration(Duration d) {
        long s = d.toSeconds();
        if (s == 0) {
            return d.toMillis() + "ms";
        }
        StringBuilder b = new StringBuilder();
        if (s >= 3600) {
            b.append(s / 3600).append('h');
        }
        if (s % 3600 >= 60) {
            b.append(s % 3600 / 60).append('m');
        }
        if (s % 60 != 0) {
            b.append(s % 60).append('s');
        }
        return b.toString();
    }

    static String micros(long us) {
        return us >= 10_000 ? us / 1000 + " ms" : String.format("%.1f ms", us / 1000.0);
    }

    /** An exception's message and its causes' on one line. */
    static String oneLine(Throwable t) {
        if (t == null) {
            return "no reason given";
        }
        StringBuilder b = new StringBuilder(
                t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName());
        for (Throwable c = t.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
            if (c.getMessage() != null && !b.toString().contains(c.getMessage())) {
                b.append(": ").append(c.getMessage());
            }
        }
        return b.toString();
    }
}
