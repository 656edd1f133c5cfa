package io.jcni.netlink;

import io.jcni.netlink.sys.Errno;

/** A name the kernel would refuse (interface or namespace): caught before anything is sent. */
public final class InvalidNameException extends KernelException {
    private static final long serialVersionUID = 1L;

    public InvalidNameException(String operation, String name, String reason) {
        super(operation, name == null ? null : '"' + name + '"', Errno.EINVAL, reason);
    }
}
