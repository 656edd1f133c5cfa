package io.jcni.netlink;

/** The kernel refused for lack of privilege (EPERM, EACCES): jcni needs CAP_NET_ADMIN and CAP_SYS_ADMIN. */
public final class PermissionDeniedException extends KernelException {
    private static final long serialVersionUID = 1L;

    public PermissionDeniedException(String operation, String object, int errno, String kernelMessage) {
        super(operation, object, errno, kernelMessage);
    }
}
