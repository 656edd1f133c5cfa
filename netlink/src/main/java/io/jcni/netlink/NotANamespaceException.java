package io.jcni.netlink;

import io.jcni.netlink.sys.Errno;

/** A path that exists but is not a network namespace file (a regular file, another namespace type). */
public final class NotANamespaceException extends KernelException {
    private static final long serialVersionUID = 1L;

    public NotANamespaceException(String path, String reason) {
        super("open netns", path, Errno.EINVAL, reason);
    }
}
