package io.jcni.cni;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.function.Consumer;

/**
 * What an ADD has changed so far, as the steps that take each change back. A failure anywhere in
 * ADD unwinds exactly these, newest first, so ADD either completes or leaves nothing behind. An
 * undo step that fails does not stop the others: it is logged and kept on the original failure
 * as a suppressed exception, and the original failure is what the caller reports.
 */
public final class UndoLog {
    /** One undo step. */
    @FunctionalInterface
    public interface Step {
        void run() throws Exception;
    }

    private record Entry(String what, Step step) {}

    private final Deque<Entry> steps = new ArrayDeque<>();

    /** Records how to take back a change ADD has just made; {@code what} names the undo, as a log line would. */
    public void record(String what, Step undo) {
        steps.push(new Entry(what, undo));
    }

    /** The descriptions of the recorded steps, in the order {@link #unwind} would run them. */
    public java.util.List<String> pending() {
        return steps.stream().map(Entry::what).toList();
    }

    /**
     * Runs every recorded step, newest first, and forgets them. Each failure is logged through
     * {@code log} and added to {@code failure}'s suppressed exceptions.
     */
    public void unwind(Throwable failure, Consumer<String> log) {
        while (!steps.isEmpty()) {
            Entry e = steps.pop();
            try {
                e.step.run();
            } catch (Exception | Error undoFailed) {
                log.accept("rollback: " + e.what + " failed: " + undoFailed.getMessage());
                if (failure != undoFailed) {
                    failure.addSuppressed(undoFailed);
                }
            }
        }
    }
}
