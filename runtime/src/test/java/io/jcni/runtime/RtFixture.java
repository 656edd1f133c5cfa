package io.jcni.runtime;

import io.jcni.testkit.Commands;
import io.jcni.testkit.TestNames;
import io.jcni.testkit.TestNetns;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * One runtime test's world: unique names ({@code jrt<run><n>…}), a temporary NETCONFPATH, cache
 * dir and IPAM data dir, namespaces; {@link #close()} DELs every attachment still cached, then
 * removes the namespaces, the bridge and the directories, also when the test failed.
 */
final class RtFixture implements AutoCloseable {
    private static final AtomicInteger COUNTER = new AtomicInteger();
    private static final int RUN = TestNames.RUN_NUMBER;

    final String prefix;
    final String network;
    final String bridge;
    final String subnet24; // "10.a.b" (a /24 of our own)
    final Path confDir;
    final Path cacheDir;
    final Path dataDir;
    final Path root;
    private final TestNetns namespaces = new TestNetns();
    private final List<NetworkConfigList> lists = new ArrayList<>();
    CniRuntime runtime;

    RtFixture(String cniPath) {
        int n = COUNTER.incrementAndGet();
        this.prefix = TestNames.unique("jrt");
        this.network = prefix + "net";
        this.bridge = prefix + "br";
        this.subnet24 = "10." + (180 + RUN % 60) + "." + ((RUN / 60 * 7 + n * 13) % 250 + 1);
        try {
            this.root = Files.createTempDirectory("jcni-rt-");
            this.confDir = Files.createDirectory(root.resolve("net.d"));
            this.cacheDir = root.resolve("cache");
            this.dataDir = Files.createDirectory(root.resolve("ipam"));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        this.runtime = CniRuntime.builder()
                .cniPath(cniPath)
                .cacheDir(cacheDir)
                .timeout(Duration.ofSeconds(60))
                .build();
    }

    /** A new named namespace; returns its path. */
    String netns(String what) {
        return namespaces.create(prefix + what);
    }

    static String nsName(String path) {
        return TestNetns.nameOf(path);
    }

    /** Writes {@code <file>} into the conf dir and loads the network from it; remembered for clean-up DELs. */
    NetworkConfigList conf(String file, String json) throws Exception {
        Files.writeString(confDir.resolve(file), json);
        NetworkConfigList l = null;
        for (NetworkConfigList c : CniRuntime.loadNetworks(confDir).networks()) {
            if (c.file().endsWith("/" + file)) {
                l = c;
            }
        }
        if (l == null) {
            throw new AssertionError(
                    file + " did not load: " + CniRuntime.loadNetworks(confDir).errors());
        }
        lists.add(l);
        return l;
    }

    Path cacheFile(String network, String cid, String ifname) {
        return cacheDir.resolve("results").resolve(network + "-" + cid + "-" + ifname);
    }

    /** {@code ip -n NS -j addr show dev IF}: "a.b.c.d/p" strings, link-local IPv6 left out. */
    static List<String> addresses(String netnsPath, String dev) {
        return io.jcni.testkit.Witness.addresses(nsName(netnsPath), dev).stream()
                .filter(a -> !a.startsWith("fe80:"))
                .toList();
    }

    static boolean linkExists(String netnsPath, String dev) {
        return io.jcni.testkit.Witness.linkNames(netnsPath == null ? null : nsName(netnsPath))
                .contains(dev);
    }

    @Override
    public void close() {
        for (CachedAttachment a : runtime.cachedAttachments(null)) {
            for (NetworkConfigList l : lists) {
                if (l.name().equals(a.networkName())) {
                    try {
                        runtime.del(l, a.runtimeConf());
                    } catch (Exception ignored) {
                        // keep cleaning
                    }
                }
            }
        }
        try {
            if (linkExists(null, bridge)) {
                Commands.run("ip", "link", "del", bridge);
            }
        } catch (RuntimeException ignored) {
            // keep cleaning
        }
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // temp dir
        }
        namespaces.close(); // last: it fails if one is left, once everything else is cleaned
    }
}
