package io.jcni.agent;

import java.util.ArrayList;
import java.util.List;

/**
 * One pass of the {@link Dataplane}: collects each change (as the command that makes it) and each
 * error, so one failing step is reported and the pass goes on with the next.
 */
final class Pass {
    private final List<String> changes = new ArrayList<>();
    private final List<String> errors = new ArrayList<>();
    private int routesAdded;
    private int routesRemoved;

    /** A step that may fail with an unchecked exception. */
    @FunctionalInterface
    interface Step {
        void run();
    }

    void changed(String command) {
        changes.add(command);
    }

    /** A route put in place ({@code ip route replace}: new, or changed). */
    void routeAdded(String command) {
        changes.add(command);
        routesAdded++;
    }

    void routeRemoved(String command) {
        changes.add(command);
        routesRemoved++;
    }

    void error(String message) {
        errors.add(message);
    }

    /**
     * Like {@link #attempt(String, Step)}, the name made only on failure: a pass over thousands of
     * peers would otherwise build several strings per peer for nothing.
     */
    boolean attempt(java.util.function.Supplier<String> what, Step step) {
        try {
            step.run();
            return true;
        } catch (RuntimeException e) {
            errors.add(what.get() + ": " + e.getMessage());
            return false;
        }
    }

    /** Runs {@code step}; a failure becomes an error naming {@code what}. Returns whether it succeeded. */
    boolean attempt(String what, Step step) {
        try {
            step.run();
            return true;
        } catch (RuntimeException e) {
            errors.add(what + ": " + e.getMessage());
            return false;
        }
    }

    Dataplane.Report report() {
        return new Dataplane.Report(List.copyOf(changes), List.copyOf(errors), routesAdded, routesRemoved);
    }
}
