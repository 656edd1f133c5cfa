package io.jcni.netlink.sys;

/** System call numbers for the two architectures jcni supports (x86_64 and aarch64). */
public final class SyscallNumbers {
    private SyscallNumbers() {}

    private static final boolean ARM64 = "aarch64".equals(System.getProperty("os.arch"));

    public static final long READ = ARM64 ? 63 : 0;
    public static final long WRITE = ARM64 ? 64 : 1;
    public static final long CLOSE = ARM64 ? 57 : 3;
    public static final long FSTAT = ARM64 ? 80 : 5;
    public static final long IOCTL = ARM64 ? 29 : 16;
    public static final long SOCKET = ARM64 ? 198 : 41;
    public static final long CONNECT = ARM64 ? 203 : 42;
    public static final long SENDTO = ARM64 ? 206 : 44;
    public static final long RECVFROM = ARM64 ? 207 : 45;
    public static final long BIND = ARM64 ? 200 : 49;
    public static final long GETSOCKNAME = ARM64 ? 204 : 51;
    public static final long SETSOCKOPT = ARM64 ? 208 : 54;
    public static final long GETSOCKOPT = ARM64 ? 209 : 55;
    public static final long FLOCK = ARM64 ? 32 : 73;
    public static final long FSYNC = ARM64 ? 82 : 74;
    public static final long FTRUNCATE = ARM64 ? 46 : 77;
    public static final long FSTATFS = ARM64 ? 44 : 138;
    public static final long MOUNT = ARM64 ? 40 : 165;
    public static final long UMOUNT2 = ARM64 ? 39 : 166;
    public static final long GETTID = ARM64 ? 178 : 186;
    public static final long OPENAT = ARM64 ? 56 : 257;
    public static final long MKDIRAT = ARM64 ? 34 : 258;
    public static final long UNLINKAT = ARM64 ? 35 : 263;
    public static final long RENAMEAT = ARM64 ? 38 : 264;
    public static final long LINKAT = ARM64 ? 37 : 265;
    public static final long UNSHARE = ARM64 ? 97 : 272;
    public static final long SETNS = ARM64 ? 268 : 308;
}
