package io.jcni.netlink;

import io.jcni.netlink.sys.Errno;

/**
 * A kernel refusal: which operation jcni attempted, on which object, the errno, and the text
 * the kernel attached through netlink extended ACKs (null when it sent none).
 *
 * <p>Subclasses name the outcomes callers branch on ("already there" during an ADD race,
 * "already gone" during a DEL), so no caller compares errno values.
 */
public class KernelException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String operation;
    private final String object;
    private final int errno;
    private final String kernelMessage;

    public KernelException(String operation, String object, int errno, String kernelMessage) {
        super(format(operation, object, errno, kernelMessage));
        this.operation = operation;
        this.object = object;
        this.errno = errno;
        this.kernelMessage = kernelMessage;
    }

    /** The exception type that fits the errno. */
    public static KernelException of(String operation, String object, int errno, String kernelMessage) {
        return switch (errno) {
            case Errno.EEXIST -> new ObjectExistsException(operation, object, errno, kernelMessage);
            case Errno.ENOENT, Errno.ENODEV, Errno.ESRCH, Errno.EADDRNOTAVAIL ->
                new NoSuchObjectException(operation, object, errno, kernelMessage);
            case Errno.EPERM, Errno.EACCES -> new PermissionDeniedException(operation, object, errno, kernelMessage);
            default -> new KernelException(operation, object, errno, kernelMessage);
        };
    }

    private static String format(String operation, String object, int errno, String kernelMessage) {
        StringBuilder sb = new StringBuilder(operation);
        if (object != null && !object.isEmpty()) {
            sb.append(' ').append(object);
        }
        sb.append(": ")
                .append(Errno.describe(errno))
                .append(" (")
                .append(Errno.name(errno))
                .append(')');
        if (kernelMessage != null && !kernelMessage.isEmpty()) {
            sb.append(": ").append(kernelMessage);
        }
        return sb.toString();
    }

    /** What jcni was doing, e.g. {@code add link}. */
    public String operation() {
        return operation;
    }

    /** What it was doing it to, e.g. {@code veth1a}; may be null. */
    public String object() {
        return object;
    }

    /** The positive errno value. */
    public int errno() {
        return errno;
    }

    /** The kernel's own explanation (netlink extended ACK), or null. */
    public String kernelMessage() {
        return kernelMessage;
    }
}
