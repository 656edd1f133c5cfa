package io.jcni.netlink.diag;

/**
 * A listening Unix stream socket as {@code unix_diag} reports it.
 *
 * @param inode    the socket's inode: {@code /proc/PID/fd/N} links to {@code socket:[inode]}
 * @param path     the path it was bound to (as bound: a socket renamed into place afterwards keeps its first name), or null
 * @param vfsInode the inode of the socket file on its file system (what {@code stat PATH} gives, whatever the name), 0 when unbound
 */
public record UnixListener(long inode, String path, long vfsInode) {}
