package io.jcni.netlink;

/** The object is not there (ENODEV, ENOENT, ESRCH, EADDRNOTAVAIL): DEL paths treat this as done. */
public final class NoSuchObjectException extends KernelException {
    private static final long serialVersionUID = 1L;

    public NoSuchObjectException(String operation, String object, int errno, String kernelMessage) {
        super(operation, object, errno, kernelMessage);
    }
}
