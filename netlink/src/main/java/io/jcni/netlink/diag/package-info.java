/**
 * Read-only views of a namespace for debugging, next to what the plugins change: its sockets
 * through {@code NETLINK_SOCK_DIAG} ({@link io.jcni.netlink.diag.SockDiag}, what {@code ss}
 * asks the kernel), the processes holding them ({@link io.jcni.netlink.diag.SocketOwners}, what
 * {@code ss -p} and {@code netstat -p} read from {@code /proc}), and which namespace a veth's
 * peer lives in ({@link io.jcni.netlink.diag.NetnsIds}, {@code RTM_GETNSID}).
 *
 * <p>Only {@code jcni inspect}, {@code jcni doctor} and {@code jcni graph} load this package; a
 * plugin's exec path never does, so it may use {@code java.nio.file} where the rest of the module
 * keeps to raw system calls for start-up time.
 */
package io.jcni.netlink.diag;
