package io.jcni.netlink.sys;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.jcni.netlink.KernelException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * Every system call jcni makes goes through one downcall handle: libc's variadic
 * {@code syscall(long nr, ...)} with six long arguments and errno captured with the call.
 *
 * <p>One handle instead of one per function because each distinct downcall signature costs
 * 5–14 ms the first time it is linked, and the plugin's exec path is start-up bound. Pointers are
 * passed as addresses ({@link MemorySegment#address()}); the caller keeps the memory alive until
 * the call returns (an arena scoped to the call).
 */
public final class Syscall {
    private Syscall() {}

    private static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle SYSCALL;

    static {
        Linker linker = Linker.nativeLinker();
        var found = linker.defaultLookup().find("syscall"); // no lambda: each costs start-up on the exec'd path
        if (found.isEmpty()) {
            throw new ExceptionInInitializerError("libc has no syscall()");
        }
        MemorySegment symbol = found.get();
        SYSCALL = linker.downcallHandle(
                symbol,
                FunctionDescriptor.of(
                        JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
                Linker.Option.firstVariadicArg(1),
                Linker.Option.captureCallState("errno"));
    }

    /** errno capture buffer per thread: the JVM may clobber errno between two calls, so it is captured with the call. */
    private static final ThreadLocal<MemorySegment> CAPTURE = new ThreadLocal<>() {
        @Override
        protected MemorySegment initialValue() {
            return Arena.ofAuto().allocate(CAPTURE_LAYOUT);
        }
    };

    /**
     * Makes the call and returns its result, or {@code -errno} when it failed (the kernel's own
     * convention; none of the calls jcni makes returns a negative value on success).
     */
    public static long raw(long nr, long a1, long a2, long a3, long a4, long a5, long a6) {
        MemorySegment capture = CAPTURE.get();
        long r;
        try {
            r = (long) SYSCALL.invokeExact(capture, nr, a1, a2, a3, a4, a5, a6);
        } catch (Throwable t) {
            throw new IllegalStateException("syscall " + nr + " could not be invoked", t);
        }
        return r == -1 ? -(int) ERRNO.get(capture, 0L) : r;
    }

    /**
     * Calls and throws {@link KernelException} (typed by errno) on failure.
     *
     * @param operation what jcni was doing, for the message ("open", "setns", …)
     * @param object    what it was doing it to (a path, a name), may be null
     */
    public static long call(
            String operation, String object, long nr, long a1, long a2, long a3, long a4, long a5, long a6) {
        long r = raw(nr, a1, a2, a3, a4, a5, a6);
        if (r < 0) {
            throw KernelException.of(operation, object, (int) -r, null);
        }
        return r;
    }

    public static long call(String operation, String object, long nr, long a1, long a2, long a3) {
        return call(operation, object, nr, a1, a2, a3, 0, 0, 0);
    }

    /** Retries on EINTR, as every blocking call should. */
    public static long callRestarting(
            String operation, String object, long nr, long a1, long a2, long a3, long a4, long a5, long a6) {
        while (true) {
            long r = raw(nr, a1, a2, a3, a4, a5, a6);
            if (r >= 0) {
                return r;
            }
            if (r != -Errno.EINTR) {
                throw KernelException.of(operation, object, (int) -r, null);
            }
        }
    }
}
