package io.jcni.netlink.diag;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.netlink.Trace;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.route.Link;
import io.jcni.netlink.route.LinkSpec;
import io.jcni.netlink.route.RouteNetlink;
import io.jcni.netlink.testing.Scratch;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Sockets made by this JVM inside a fresh namespace are what {@code inet_diag} lists there, with
 * the inode {@code /proc/self/fd} links to and this process as their holder; a veth's peer
 * namespace is found by its id.
 */
class SockDiagTest {

    private static <T> T in(NetNs ns, IoWork<T> w) {
        return ns.run(() -> {
            try {
                return w.run();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    interface IoWork<T> {
        T run() throws IOException;
    }

    /** This process's socket inodes: the JDK does not expose a socket's descriptor, so the test compares before and after. */
    private static java.util.Set<Long> socketInodes() throws IOException {
        java.util.Set<Long> out = new java.util.HashSet<>();
        try (var s = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
            for (Path p : s) {
                try {
                    String t = Files.readSymbolicLink(p).toString();
                    if (t.startsWith("socket:[")) {
                        out.add(Long.parseLong(t.substring(8, t.length() - 1)));
                    }
                } catch (IOException gone) {
                    // closed meanwhile
                }
            }
        }
        return out;
    }

    @Test
    void listsListeningTcpAndUnconnectedUdpOfItsNamespaceWithTheirHolder() throws Exception {
        try (Scratch s = new Scratch("in-")) {
            NetNs ns = s.netns("sd");
            try (RouteNetlink nl = RouteNetlink.open(ns, Trace.OFF)) {
                nl.links().setUp("lo");
            }
            java.util.Set<Long> before = socketInodes();
            ServerSocket tcp4 = s.closeLater(in(ns, () -> new ServerSocket(0, 5, InetAddress.getByName("127.0.0.1"))));
            ServerSocket dual = s.closeLater(in(ns, () -> new ServerSocket(0)));
            DatagramSocket udp = s.closeLater(in(ns, () -> new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))));
            java.util.Set<Long> mine = socketInodes();
            mine.removeAll(before);

            List<InetSocket> listed;
            try (SockDiag diag = SockDiag.open(ns)) {
                listed = diag.listening();
            }
            assertEquals(3, listed.size(), "exactly this test's sockets live in its namespace: " + listed);
            InetSocket t4 = find(listed, "tcp", tcp4.getLocalPort());
            assertEquals(IpAddress.parse("::ffff:127.0.0.1"), t4.local(), "Java binds IPv4 addresses on IPv6 sockets");
            assertEquals("LISTEN", t4.stateName());
            assertEquals("[::ffff:127.0.0.1]:" + tcp4.getLocalPort(), t4.localText(), "as ss prints it");
            InetSocket d = find(listed, "tcp", dual.getLocalPort());
            assertEquals(IpAddress.parse("::"), d.local(), "Java's ServerSocket is an IPv6 socket on ::");
            assertEquals(Boolean.FALSE, d.v6only(), "that also takes IPv4");
            assertEquals("*:" + dual.getLocalPort(), d.localText(), "as ss prints a dual-stack listener");
            InetSocket u = find(listed, "udp", udp.getLocalPort());
            assertEquals("UNCONN", u.stateName());
            assertEquals(0, u.uid(), "root's");

            java.util.Set<Long> inodes = new java.util.HashSet<>();
            for (InetSocket x : listed) {
                inodes.add(x.inode());
            }
            assertTrue(
                    mine.containsAll(inodes),
                    "the inodes are among those /proc/self/fd links to: " + inodes + " " + mine);
            SocketOwners owners = SocketOwners.scan(inodes);
            for (InetSocket x : listed) {
                List<SocketOwners.Owner> o = owners.of(x.inode());
                assertEquals(1, o.size(), x + " " + o);
                assertEquals(ProcessHandle.current().pid(), o.get(0).pid());
                assertEquals("java", o.get(0).program());
                assertTrue(o.get(0).cmdline().contains("java"), o.get(0).cmdline());
            }
        }
    }

    /** A Unix socket bound under one name and renamed into place is still found by its file's inode. */
    @Test
    void aListeningUnixSocketIsFoundByItsFilesInodeAfterARename() throws Exception {
        try (Scratch s = new Scratch("in-")) {
            NetNs ns = s.netns("su");
            Path dir = Files.createTempDirectory("jin-sockdiag");
            Path bound = dir.resolve(".tmp.sock"), renamed = dir.resolve("final.sock");
            try (var server = s.closeLater(in(ns, () -> {
                var ch = java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX);
                ch.bind(java.net.UnixDomainSocketAddress.of(bound));
                return ch;
            }))) {
                Files.move(bound, renamed);
                long fileInode = ((Number) Files.getAttribute(renamed, "unix:ino")).longValue();
                List<UnixListener> listed;
                try (SockDiag diag = SockDiag.open(ns)) {
                    listed = diag.unixListening();
                }
                UnixListener u = listed.stream()
                        .filter(x -> x.vfsInode() == fileInode)
                        .findFirst()
                        .orElseThrow(() -> new AssertionError(fileInode + " not in " + listed));
                assertEquals(bound.toString(), u.path(), "the name it was bound to");
                assertEquals(
                        ProcessHandle.current().pid(),
                        SocketOwners.scan(List.of(u.inode()))
                                .of(u.inode())
                                .get(0)
                                .pid());
            } finally {
                Files.deleteIfExists(renamed);
                Files.deleteIfExists(dir);
            }
        }
    }

    @Test
    void anEmptyNamespaceHasNoSockets() {
        try (Scratch s = new Scratch("in-");
                SockDiag diag = SockDiag.open(s.netns("se"))) {
            assertEquals(List.of(), diag.listening());
        }
    }

    @Test
    void aVethPeersNamespaceIsFoundByItsId() {
        try (Scratch s = new Scratch("in-")) {
            NetNs a = s.netns("a");
            NetNs b = s.netns("b");
            NetNs c = s.netns("c");
            Link v;
            try (RouteNetlink inA = RouteNetlink.open(a, Trace.OFF)) {
                inA.links().add(LinkSpec.veth("v0", "eth0").peerNetns(b));
                v = inA.links().get("v0");
            }
            assertTrue(v.linkNetnsId() >= 0, "the peer is in another namespace: " + v);
            try (NetnsIds ids = NetnsIds.from(a)) {
                assertEquals(v.linkNetnsId(), ids.idOf(b));
                assertEquals(NetnsIds.NOT_ASSIGNED, ids.idOf(c), "a namespace a never referred to has no id there");
            }
        }
    }

    private static InetSocket find(List<InetSocket> l, String proto, int port) {
        return l.stream()
                .filter(x -> x.protocol().equals(proto) && x.localPort() == port)
                .findFirst()
                .orElseThrow(() -> new AssertionError(proto + " " + port + " not in " + l));
    }
}
