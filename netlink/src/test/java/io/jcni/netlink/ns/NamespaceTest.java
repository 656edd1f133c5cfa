package io.jcni.netlink.ns;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.netlink.NoSuchObjectException;
import io.jcni.netlink.NotANamespaceException;
import io.jcni.netlink.ObjectExistsException;
import io.jcni.netlink.Trace;
import io.jcni.netlink.route.LinkSpec;
import io.jcni.netlink.route.RouteNetlink;
import io.jcni.netlink.testing.Scratch;
import io.jcni.testkit.Commands;
import io.jcni.testkit.Json;
import io.jcni.testkit.Witness;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Named namespaces (interchangeable with ip netns), NetNs.open's checks, run's thread discipline, sysctls. */
class NamespaceTest {

    private static List<String> ipNetnsList() {
        List<String> out = new ArrayList<>();
        for (Map<String, Object> m : Json.objects(Commands.run("ip", "-j", "netns", "list"))) {
            out.add((String) m.get("name"));
        }
        return out;
    }

    private static String threadNetns() {
        try {
            return Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net")).toString();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String inodeLink(String path) {
        try {
            return "net:[" + Files.getAttribute(Path.of(path), "unix:ino") + "]";
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void createdByUsSeenByIpNetnsAndDeleted() {
        try (Scratch s = new Scratch("ns")) {
            String name = s.name("a");
            List<String> trace = new ArrayList<>();
            NamedNetns.create(name, trace::add);
            try {
                assertEquals(List.of("ip netns add " + name), trace);
                assertTrue(NamedNetns.exists(name));
                assertTrue(NamedNetns.list().contains(name));
                assertTrue(ipNetnsList().contains(name), "ip netns list sees it");
                // usable by iproute2: create a link through ip, see it through us
                Commands.run("ip", "-n", name, "link", "add", "jnsbr0", "type", "bridge");
                try (NetNs ns = NetNs.openNamed(name);
                        RouteNetlink nl = RouteNetlink.open(ns, Trace.OFF)) {
                    assertEquals(name, ns.name());
                    assertEquals("bridge", nl.links().get("jnsbr0").kind());
                }
                ObjectExistsException e =
                        assertThrows(ObjectExistsException.class, () -> NamedNetns.create(name, Trace.OFF));
                assertEquals("create netns", e.operation());
            } finally {
                NamedNetns.delete(name, trace::add);
            }
            assertEquals("ip netns del " + name, trace.get(trace.size() - 1));
            assertFalse(NamedNetns.exists(name));
            assertFalse(ipNetnsList().contains(name));
            assertThrows(NoSuchObjectException.class, () -> NamedNetns.delete(name, Trace.OFF));
            assertThrows(NoSuchObjectException.class, () -> NetNs.openNamed(name));
        }
    }

    @Test
    void createdByIpNetnsSeenAndDeletedByUs() {
        try (Scratch s = new Scratch("ns")) {
            String name = s.adoptNetns(s.name("b"));
            Commands.run("ip", "netns", "add", name);
            assertTrue(NamedNetns.exists(name));
            assertTrue(NamedNetns.list().contains(name));
            try (NetNs ns = NetNs.openNamed(name);
                    RouteNetlink nl = RouteNetlink.open(ns, Trace.OFF)) {
                String br = s.name("br");
                nl.links().add(LinkSpec.bridge(br));
                assertTrue(Witness.linkNames(name).contains(br), "ip -n sees what we made in its namespace");
            }
            NamedNetns.delete(name, Trace.OFF);
            assertFalse(ipNetnsList().contains(name));
        }
    }

    @Test
    void freshNamespacesAreEmptyAndDistinct() {
        try (Scratch s = new Scratch("ns")) {
            NetNs a = s.netns("a");
            NetNs b = s.netns("b");
            assertNotEquals(inodeLink(a.path()), inodeLink(b.path()));
            assertNotEquals(threadNetns(), inodeLink(a.path()));
            try (RouteNetlink nl = RouteNetlink.open(a, Trace.OFF)) {
                assertEquals(
                        List.of("lo"),
                        nl.links().list().stream().map(l -> l.name()).toList());
            }
        }
    }

    @Test
    void openRefusesWhatIsNotANetworkNamespace() throws IOException {
        Path file = Files.createTempFile("jcni-ns", ".txt");
        Path dir = Files.createTempDirectory("jcni-ns");
        try {
            NotANamespaceException f = assertThrows(NotANamespaceException.class, () -> NetNs.open(file.toString()));
            assertEquals("open netns", f.operation());
            assertEquals(file.toString(), f.object());
            assertThrows(NotANamespaceException.class, () -> NetNs.open(dir.toString()));
            NotANamespaceException m =
                    assertThrows(NotANamespaceException.class, () -> NetNs.open("/proc/self/ns/mnt"));
            assertTrue(m.getMessage().contains("not a network namespace"), m.getMessage());
            assertThrows(NotANamespaceException.class, () -> NetNs.open("/proc/self/ns/uts"));
            assertThrows(
                    NoSuchObjectException.class,
                    () -> NetNs.open(dir.resolve("missing").toString()));
            assertThrows(NoSuchObjectException.class, () -> NetNs.open("/run/netns/jcni-no-such-namespace"));
            try (NetNs own = NetNs.open("/proc/self/ns/net")) {
                assertTrue(own.fd() >= 0);
                assertNull(own.name());
                assertEquals("nsenter --net=/proc/self/ns/net ip", own.ipCommand());
            }
        } finally {
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
        }
    }

    @Test
    void runUsesAPlatformThreadInsideAndLeavesTheCallerAlone() throws Exception {
        try (Scratch s = new Scratch("ns")) {
            NetNs ns = s.netns("r");
            String expected = inodeLink(ns.path());
            String before = threadNetns();
            Thread caller = Thread.currentThread();
            String[] inside = ns.run(() -> new String[] {
                threadNetns(),
                Boolean.toString(Thread.currentThread().isVirtual()),
                Boolean.toString(Thread.currentThread() == caller)
            });
            assertEquals(expected, inside[0], "the work ran inside the namespace");
            assertEquals("false", inside[1], "on a platform thread");
            assertEquals("false", inside[2], "not on the caller's thread");
            assertEquals(before, threadNetns(), "the caller's namespace is unchanged");

            // an exception from the work reaches the caller unchanged, and still nothing moved
            IllegalStateException boom = assertThrows(
                    IllegalStateException.class,
                    () -> ns.run(() -> {
                        throw new IllegalStateException("boom");
                    }));
            assertEquals("boom", boom.getMessage());
            assertEquals(before, threadNetns());

            // from a virtual thread: the carrier must not move
            AtomicReference<String> fromVirtual = new AtomicReference<>();
            AtomicReference<String> afterVirtual = new AtomicReference<>();
            Thread v = Thread.ofVirtual().start(() -> {
                fromVirtual.set(ns.run(NamespaceTest::threadNetns));
                afterVirtual.set(threadNetns());
            });
            v.join();
            assertEquals(expected, fromVirtual.get());
            assertEquals(before, afterVirtual.get());
            assertEquals(before, threadNetns());
        }
    }

    @Test
    void sysctlInNamespaceDoesNotLeakToHost() {
        try (Scratch s = new Scratch("ns")) {
            NetNs ns = s.netns("s");
            String key = "net.ipv4.ip_forward";
            String host = Sysctl.read(null, key);
            String other = host.equals("1") ? "0" : "1";
            List<String> trace = new ArrayList<>();
            Sysctl.write(ns, key, other, trace::add);
            assertEquals(List.of("ip netns exec " + ns.name() + " sysctl -w " + key + "=" + other), trace);
            assertEquals(other, Sysctl.read(ns, key));
            assertEquals(
                    other,
                    Commands.run("ip", "netns", "exec", ns.name(), "cat", "/proc/sys/net/ipv4/ip_forward")
                            .trim(),
                    "witness: the namespace's own /proc/sys");
            assertEquals(host, Sysctl.read(null, key), "the host is untouched");
            assertEquals(
                    host, Commands.run("cat", "/proc/sys/net/ipv4/ip_forward").trim());

            trace.clear();
            assertEquals(other, Sysctl.ensure(ns, key, other, trace::add));
            assertTrue(trace.isEmpty(), "ensure writes nothing when the value is already there");
            assertEquals(other, Sysctl.ensure(ns, key, host, trace::add));
            assertEquals(host, Sysctl.read(ns, key));
            assertEquals(
                    "/proc/sys/net/ipv4/conf/eth0.100/forwarding", Sysctl.pathOf("net/ipv4/conf/eth0.100/forwarding"));
        }
    }
}
