package io.jcni.cni;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

/**
 * Teardown that keeps going: DEL and GC run every step even when an earlier one failed (what one
 * step could not remove must not keep the next from removing its part), then report all the
 * failures at once, as one {@link CniError} whose cause is the first failure and whose suppressed
 * exceptions are the others.
 *
 * <p>A step that mostly waits in the kernel (a link's unregister waits for RCU grace periods
 * without using a CPU) may run {@link #alongside} the others. The record of failures is shared by
 * the threads, so its methods are synchronized.
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

    /** A step running on a thread of its own: {@link #join} waits for it. */
    public interface Alongside {
        /** Waits for the step; its failure has then been recorded, as {@link #run} records one. */
        void join();

        /** Whether the step has ended ({@link #join} then returns at once). */
        boolean isDone();
    }

    /**
     * Starts {@code step} on a platform thread of its own (it may enter namespaces) and returns at
     * once; the caller goes on with steps that do not depend on it and then {@link Alongside#join
     * joins} it, before {@link #finish}. Where no thread can be started, the step runs now.
     */
    public Alongside alongside(String what, Step step) {
        FutureTask<Void> task = new FutureTask<>(() -> {
            run(what, step);
            return null;
        });
        try {
            Thread.ofPlatform().name("jcni-teardown").start(task);
        } catch (OutOfMemoryError | RuntimeException noThread) {
            task.run();
        }
        return new Alongside() {
            @Override
            public void join() {
                boolean interrupted = false;
                while (true) {
                    try {
                        task.get();
                        break;
                    } catch (InterruptedException e) {
                        interrupted = true; // the step is under way: a teardown does not leave it half-reported
                    } catch (ExecutionException e) {
                        // run() records every Exception: what arrives here is an Error
                        if (e.getCause() instanceof Error err) {
                            throw err;
                        }
                        throw new IllegalStateException(e.getCause());
                    }
                }
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }

            @Override
            public boolean isDone() {
                return task.isDone();
            }
        };
    }

    /** Records a failure found without running a step. */
    public synchronized void fail(String what, String why, Exception cause) {
        failed.add(what + ": " + why);
        causes.add(cause);
    }

    public synchronized boolean failed() {
        return !failed.isEmpty();
    }

    /**
     * Throws the failures so far as one error, or returns when every step succeeded. The code is
     * {@code code}, or {@link CniError#INTERNAL} when a step failed with an unexpected exception
     * (a bug, not the kernel or a file refusing), so that its stack trace gets logged.
     */
    public synchronized void finish(int code) throws CniError {
        if (failed.isEmpty()) {
            return;
        }
        for (Exception cause : causes) {
            if (cause instanceof RuntimeException
                    && !(cause instanceof io.jcni.netlink.KernelException)
                    && !(cause instanceof java.io.UncheckedIOException)) {
                code = CniError.INTERNAL;
            }
        }
        CniError e =
                new CniError(code, verb + " could not remove everything", String.join("; ", failed), causes.get(0));
        for (int i = 1; i < causes.size(); i++) {
            e.addSuppressed(causes.get(i));
        }
        throw e;
    }
}
