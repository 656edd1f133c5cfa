package io.jcni.cni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.jcni.netlink.KernelException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class UndoAndTeardownTest {
    @Test
    void undoRunsNewestFirstAndKeepsGoingPastAFailedStep() {
        List<String> ran = new ArrayList<>();
        List<String> log = new ArrayList<>();
        UndoLog undo = new UndoLog();
        undo.record("first", () -> ran.add("first"));
        undo.record("second", () -> {
            ran.add("second");
            throw new IllegalStateException("second broke");
        });
        undo.record("third", () -> ran.add("third"));
        assertEquals(List.of("third", "second", "first"), undo.pending());

        CniError failure = new CniError(CniError.KERNEL_REFUSED, "ADD failed");
        undo.unwind(failure, log::add);
        assertEquals(List.of("third", "second", "first"), ran);
        assertEquals(List.of("rollback: second failed: second broke"), log);
        assertEquals(1, failure.getSuppressed().length);
        assertEquals(List.of(), undo.pending(), "an unwound log is empty");
    }

    @Test
    void teardownRunsEveryStepAndReportsEveryFailureInOneError() {
        List<String> ran = new ArrayList<>();
        KernelException first = new KernelException("delete link", "veth1", 16, null);
        Teardown t = new Teardown("DEL");
        t.run("veth", () -> {
            ran.add("veth");
            throw first;
        });
        t.run("NAT", () -> ran.add("NAT"));
        t.run("IPAM", () -> {
            ran.add("IPAM");
            throw new CniError(CniError.IO_FAILURE, "disk full");
        });
        assertEquals(List.of("veth", "NAT", "IPAM"), ran);
        CniError e = assertThrows(CniError.class, () -> t.finish(CniError.KERNEL_REFUSED));
        assertEquals(CniError.KERNEL_REFUSED, e.code());
        assertEquals("DEL could not remove everything", e.msg());
        assertEquals("veth: " + first.getMessage() + "; IPAM: disk full", e.details());
        assertSame(first, e.getCause());
        assertEquals(1, e.getSuppressed().length);
    }

    @Test
    void aBugInATeardownStepIsAnInternalError() {
        Teardown t = new Teardown("GC");
        t.run("NAT", () -> {
            throw new NullPointerException("oops");
        });
        CniError e = assertThrows(CniError.class, () -> t.finish(CniError.KERNEL_REFUSED));
        assertEquals(CniError.INTERNAL, e.code());
    }

    @Test
    void aCleanTeardownDoesNotThrow() throws CniError {
        Teardown t = new Teardown("DEL");
        t.run("nothing", () -> {});
        t.finish(CniError.KERNEL_REFUSED);
    }

    @Test
    void aStepAlongsideRunsOnItsOwnThreadAndItsFailureIsReportedWithTheOthers() throws Exception {
        Teardown t = new Teardown("DEL");
        java.util.concurrent.CountDownLatch mainStepRan = new java.util.concurrent.CountDownLatch(1);
        String[] thread = {null};
        KernelException busy = new KernelException("delete link", "veth1", 16, null);
        Teardown.Alongside pair = t.alongside("delete the veth pair", () -> {
            thread[0] = Thread.currentThread().getName();
            // waits for the caller's own step: the two really run at the same time
            if (!mainStepRan.await(10, java.util.concurrent.TimeUnit.SECONDS)) {
                throw new IllegalStateException("the caller's step never ran");
            }
            throw busy;
        });
        t.run("NAT", mainStepRan::countDown);
        pair.join();
        assertNotEquals(Thread.currentThread().getName(), thread[0]);
        CniError e = assertThrows(CniError.class, () -> t.finish(CniError.KERNEL_REFUSED));
        assertEquals(CniError.KERNEL_REFUSED, e.code());
        assertSame(busy, e.getCause());
    }

    @Test
    void anErrorInAStepAlongsideReachesTheCaller() {
        Teardown t = new Teardown("DEL");
        Teardown.Alongside step = t.alongside("overflow", () -> {
            throw new StackOverflowError("deep");
        });
        assertThrows(StackOverflowError.class, step::join);
    }
}
