package io.jcni.cli.inspect;

import java.util.Map;

/**
 * One problem a view found: which check, how bad, what it is about, what is wrong, and the
 * one-line fix a person can run. {@code repair} is set when {@code jcni doctor --fix} may apply
 * the fix itself — only what brings the node back to what jcni's own plugins or agent would have
 * made, for objects that are provably jcni's — and null when a person has to decide.
 */
public record Finding(String check, Severity severity, String subject, String message, String fix, Repair repair) {

    public enum Severity {
        ERROR,
        WARNING,
        INFO;

        public String text() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** A fix {@code --fix} applies; each kernel change is reported to the fixer's trace as its command. */
    @FunctionalInterface
    public interface Repair {
        void apply(Fixer fixer) throws Exception;
    }

    /** Whether it keeps {@code doctor} (and {@code inspect pod}) from exiting 0. */
    public boolean counts() {
        return severity != Severity.INFO;
    }

    public Map<String, Object> json() {
        return J.obj(
                "check",
                check,
                "severity",
                severity.text(),
                "subject",
                subject,
                "message",
                message,
                "fix",
                fix,
                "fixable",
                repair != null);
    }

    static Finding error(String check, String subject, String message, String fix) {
        return new Finding(check, Severity.ERROR, subject, message, fix, null);
    }

    static Finding warning(String check, String subject, String message, String fix) {
        return new Finding(check, Severity.WARNING, subject, message, fix, null);
    }

    static Finding info(String check, String subject, String message, String fix) {
        return new Finding(check, Severity.INFO, subject, message, fix, null);
    }

    Finding repairedBy(Repair r) {
        return new Finding(check, severity, subject, message, fix, r);
    }
}
