package io.jcni.netlink;

/** The object is already there (EEXIST): a link, address, route or entry of that name or key exists. */
public final class ObjectExistsException extends KernelException {
    private static final long serialVersionUID = 1L;

    public ObjectExistsException(String operation, String object, int errno, String kernelMessage) {
        super(operation, object, errno, kernelMessage);
    }
}
