package io.jcni.plugins.testing;

import io.jcni.cni.Plugin;
import io.jcni.cni.PluginRequest;
import io.jcni.cni.PluginResponse;
import io.jcni.cni.Skeleton;
import io.jcni.cni.json.Json;
import io.jcni.netlink.NoSuchObjectException;
import io.jcni.netlink.Trace;
import io.jcni.netlink.nft.Nftables;
import io.jcni.netlink.route.RouteNetlink;
import io.jcni.testkit.TestNames;
import io.jcni.testkit.TestNetns;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * One plugin test's world: uniquely named namespaces ({@code j<tag><run>…}), a bridge name, a
 * network name, a private IPAM data directory; everything removed in {@link #close()} even when
 * the test failed — namespaces, the bridge, the network's nftables elements, the data dir.
 */
public final class PluginFixture implements AutoCloseable {
    private static final AtomicInteger COUNTER = new AtomicInteger();

    public final String prefix;
    public final String network;
    public final String bridge;
    public final Path dataDir;
    /** A number unique among this JVM's fixtures (1..250), for non-overlapping test subnets. */
    public final int octet;

    private final TestNetns namespaces = new TestNetns();
    private final List<String> hostLinks = new ArrayList<>();

    public PluginFixture(String tag) {
        this.prefix = TestNames.unique("j" + tag);
        this.network = prefix + "net"; // no "-" or ".": nft object names are the network name itself
        this.bridge = prefix + "br";
        this.octet = COUNTER.incrementAndGet() % 250 + 1;
        try {
            this.dataDir = Files.createTempDirectory("jcni-ipam-");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A new named namespace; returns its path (CNI_NETNS). */
    public String netns(String what) {
        return namespaces.create(prefix + what);
    }

    /** The namespace of {@link #netns}'s path, for {@code ip -n}. */
    public static String nsName(String path) {
        return TestNetns.nameOf(path);
    }

    /** Deletes a namespace made by {@link #netns} now (it is not deleted again on close). */
    public void deleteNetns(String path) {
        namespaces.delete(nsName(path));
    }

    /** A host link the test made (another bridge, a dummy): deleted on close. */
    public String ownHostLink(String name) {
        hostLinks.add(name);
        return name;
    }

    /**
     * The host links that belong to this fixture: the bridge's ports and every link whose name
     * starts with the fixture's prefix (bridge included). Links of other tests are not counted.
     */
    public List<String> hostLinks() {
        try (RouteNetlink host = RouteNetlink.open(Trace.OFF)) {
            List<io.jcni.netlink.route.Link> all = host.links().list();
            java.util.Set<Integer> mine = new java.util.HashSet<>();
            for (var l : all) {
                if (l.name().startsWith(prefix)) {
                    mine.add(l.index());
                }
            }
            List<String> out = new ArrayList<>();
            for (var l : all) {
                if (mine.contains(l.index()) || mine.contains(l.masterIndex())) {
                    out.add(l.name() + (l.kind() == null ? "" : "(" + l.kind() + ")"));
                }
            }
            out.sort(null);
            return out;
        }
    }

    /** Link names inside a namespace (path), sorted; empty when the namespace is gone. */
    public static List<String> nsLinks(String path) {
        if (!Files.exists(Path.of(path))) {
            return List.of();
        }
        try (var ns = io.jcni.netlink.ns.NetNs.open(path);
                RouteNetlink in = RouteNetlink.open(ns, Trace.OFF)) {
            List<String> out = new ArrayList<>();
            for (var l : in.links().list()) {
                out.add(l.name());
            }
            out.sort(null);
            return out;
        }
    }

    /** Everything in the network's IPAM directory (reservations, cursors, temp files, lock), sorted. */
    public List<String> dataFiles() {
        Path dir = dataDir.resolve(network);
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Leftover temp files of the IPAM store. */
    public List<String> tempFiles() {
        return dataFiles().stream().filter(n -> n.startsWith(".")).toList();
    }

    /** The six CNI_* variables. */
    public static Map<String, String> env(String command, String containerId, String netns, String ifname) {
        Map<String, String> env = new HashMap<>();
        env.put("CNI_COMMAND", command);
        env.put("CNI_CONTAINERID", containerId);
        env.put("CNI_NETNS", netns);
        env.put("CNI_IFNAME", ifname);
        env.put("CNI_PATH", "/usr/lib/cni");
        env.put("CNI_ARGS", "");
        return env;
    }

    /** Runs one plugin request in-process: exactly what the exec'd plugin and the daemon do. */
    public static PluginResponse call(Plugin plugin, Map<String, String> env, String config) {
        return Skeleton.handle(plugin, new PluginRequest(env, config.getBytes(StandardCharsets.UTF_8)));
    }

    @SuppressWarnings("unchecked")
    public static Map<String, Object> json(PluginResponse r) {
        try {
            return (Map<String, Object>) Json.parse(r.stdout());
        } catch (Exception e) {
            throw new AssertionError("not JSON: " + r.stdoutText(), e);
        }
    }

    /** Reservation files in this network's IPAM directory (names), sorted. */
    public List<String> reservations() {
        Path dir = dataDir.resolve(network);
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString())
                    .filter(n -> !n.equals("lock") && !n.startsWith("last_reserved_ip"))
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Makes this network's reservations an hour old: older than host-local GC's grace period,
     * within which a reservation may belong to an ADD still in flight and is kept.
     */
    public void ageReservations() {
        long hourAgo = System.currentTimeMillis() - 3_600_000;
        for (String name : reservations()) {
            try {
                Files.setLastModifiedTime(
                        dataDir.resolve(network).resolve(name), java.nio.file.attribute.FileTime.fromMillis(hourAgo));
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /** Addresses of this network's masquerade elements (by their comment, {@code <network>/…}) in this namespace. */
    public List<String> natElements() {
        List<String> out = new ArrayList<>();
        try (Nftables nft = Nftables.open(Trace.OFF)) {
            for (String set : List.of("pods4", "pods6")) {
                for (var e : nft.elements(Nftables.INET, "jcni", set)) {
                    if (e.comment() != null && e.comment().startsWith(network + "/")) {
                        out.add(String.valueOf(e.address()));
                    }
                }
            }
        } catch (NoSuchObjectException noTable) {
            // nothing masqueraded at all
        }
        return out;
    }

    /** Removes this network's masquerade elements (shared table, sets and chain stay: other networks use them). */
    private void removeNatElements() {
        try (Nftables nft = Nftables.open(Trace.OFF)) {
            for (String set : List.of("pods4", "pods6", "local4", "local6")) {
                List<io.jcni.netlink.nft.NftElement> els;
                try {
                    els = nft.elements(Nftables.INET, "jcni", set);
                } catch (NoSuchObjectException none) {
                    continue;
                }
                for (var e : els) {
                    if (e.comment() != null && e.comment().startsWith(network + "/")) {
                        var b = nft.batch();
                        if (e.keyEnd() != null) {
                            b.deleteRangeElement(Nftables.INET, "jcni", set, e.key(), e.keyEnd(), e.toString());
                        } else {
                            b.deleteElement(Nftables.INET, "jcni", set, e.key(), e.toString());
                        }
                        b.commit();
                    }
                }
            }
        } catch (RuntimeException ignored) {
            // no table, or already gone
        }
    }

    @Override
    public void close() {
        for (String l : hostLinks) {
            try (RouteNetlink host = RouteNetlink.open(Trace.OFF)) {
                host.links().deleteIfExists(l);
            } catch (RuntimeException ignored) {
                // keep cleaning
            }
        }
        try (RouteNetlink host = RouteNetlink.open(Trace.OFF)) {
            host.links().deleteIfExists(bridge);
            // host ends whose pod end outlived a test (a leak the test reported): don't let them pile up
            for (var l : host.links().list()) {
                if (l.name().startsWith(prefix)) {
                    host.links().deleteIfExists(l.name());
                }
            }
        } catch (RuntimeException ignored) {
            // keep cleaning
        }
        removeNatElements();
        try (Stream<Path> s = Files.walk(dataDir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // temp dir
        }
        namespaces.close(); // last: it fails if one is left, once everything else is cleaned
    }
}
