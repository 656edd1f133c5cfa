package io.jcni.cni;

import java.util.ArrayList;
import java.util.List;

/**
 * Teardown that keeps going: DEL and GC run every step even when an earlier one failed (what one
 * step could not remove must not keep the next from removing its part), then report all the
 * failures at once, as one {@link CniError} whose cause is the first failure and whose suppressed
 * exceptions are the others.
 */
public final class Teardown {
    /** One teardown step. */
    @FunctionalInterface
    public interface Step {
        void run() throws Exception;
    }

    private final String verb;
    private final List<String> failed = new ArrayList<>();
    private final List<Exception> causes = new ArrayList<>();

    /** @param verb what is torn down, for the error's message ("DEL", "GC") */
    public Teardown(String verb) {
        this.verb = verb;
    }

    /** Runs {@code step} now; a failure is recorded under {@code what} and the teardown goes on. */
    public void run(String what, Step step) {
        try {
            step.run();
        } catch (CniError e) {
            fail(what, e.getMessage(), e);
        } catch (Exception e) {
            fail(what, e.getMessage() == null ? e.toString() : e.getMessage(), e);
        }
    }

    /** Records a failure found without running a step. */
    public void fail(String what, String why, Exception cause) {
        failed.add(what + ": " + why);
        causes.add(cause);
    }

    public boolean failed() {
        return !failed.isEmpty();
    }

    /**
     * Throws the failures so far as one error, or returns when every step succeeded. The code is
     * {@code code}, or {@link CniError#INTERNAL} when a step failed with an unexpected exception
     * (a bug, not the kernel or a file refusing), so that its stack trace gets logged.
     */
    public void finish(int code) throws CniError {
        if (failed.isEmpty()) {
            return;
        }
        for (Exception cause : causes) {
            if (cause instanceof RuntimeException && !(cause instanceof io.jcni.netlink.KernelException)
                    && !(cause instanceof java.io.UncheckedIOException)) {
                code = CniError.INTERNAL;
            }
        }
        CniError e = new CniError(code, verb + " could not remove everything", String.join("; ", failed), causes.get(0));
        for (int i = 1; i < causes.size(); i++) {
            e.addSuppressed(causes.get(i));
        }
        throw e;
    }
}
