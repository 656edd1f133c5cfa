package io.jcni.e2e;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.cli.Main;
import io.jcni.testkit.Commands;
import io.jcni.testkit.Jars;
import io.jcni.testkit.Json;
import io.jcni.testkit.TestNames;
import io.jcni.testkit.Trees;
import io.jcni.testkit.Witness;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * What both runtimes' end-to-end tests share: installing jcni's plugins (behind a logging wrapper,
 * so a test can prove the runtime executed them), the offline busybox image, the network
 * configuration, and the "nothing left" checks; {@link E2eNetwork} puts them together for one
 * runtime. Commands run through testkit's {@link Commands}.
 */
final class E2e {
    private E2e() {}

    /** Short, per-JVM: names of links, networks and containers carry it so concurrent runs cannot clash. */
    static final String RUN = TestNames.RUN;

    static final String BUSYBOX = "/bin/busybox";
    static final List<String> APPLETS = List.of(
            "sh",
            "ping",
            "nc",
            "httpd",
            "sleep",
            "ip",
            "wget",
            "cat",
            "echo",
            "hostname",
            "ls",
            "true",
            "printf",
            "mkdir",
            "netstat",
            "ps",
            "timeout");
    static final String PORTMAP_MAIN = "io.jcni.plugins.portmap.PortmapMain";
    static final Path CNI_CACHE = Path.of("/var/lib/cni/results");

    // ---- processes ----

    /** {@code cmd}, two minutes at most; its output, or a failure naming it with its output. */
    static String ok(String... cmd) {
        return Commands.of(cmd).timeout(Duration.ofSeconds(120)).ok();
    }

    static void log(String msg) {
        System.out.println("[e2e] " + msg);
    }

    // ---- jcni's plugins, installed as a runtime finds them ----

    /** Where a test's plugins are: the directory the runtime searches, and the log the wrappers append to. */
    record Plugins(Path bin, Path installed, Path log, boolean portmap) {
        List<String> calls() {
            try {
                return Files.exists(log) ? Files.readAllLines(log) : List.of();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    static boolean portmapOnClassPath() {
        try {
            Class.forName(PORTMAP_MAIN, false, E2e.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }

    /**
     * {@code jcni install --dir DIR/installed --lib-dir DIR/lib --from DIR/jars} (in-process, the jars
     * built from this test's class path as a {@code package} would), then, in {@code DIR/bin}, one
     * wrapper per plugin that appends "name COMMAND containerID netns=…" to {@code DIR/plugin-calls.log}
     * and execs the installed executable. The runtime is pointed at {@code DIR/bin}.
     */
    static Plugins install(Path dir) throws IOException {
        Path jars = Jars.fromClassPath(Files.createDirectories(dir.resolve("jars")));
        Path installed = dir.resolve("installed"),
                lib = dir.resolve("lib"),
                bin = Files.createDirectories(dir.resolve("bin"));
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code = Main.run(
                new String[] {
                    "install", "--dir", installed.toString(), "--lib-dir", lib.toString(), "--from", jars.toString()
                },
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(0, code, "jcni install: " + out + err);
        log(out.toString(StandardCharsets.UTF_8).strip());
        boolean portmap = portmapOnClassPath();
        String stand_in = System.getProperty("jcni.e2e.portmap", "");
        if (!portmap && !stand_in.isEmpty()) {
            // -Djcni.e2e.portmap=/usr/lib/cni/portmap: try the hostPort test with another portmap until jcni's exists
            Files.writeString(installed.resolve("jcni-portmap"), "#!/bin/sh\nexec '" + stand_in + "' \"$@\"\n");
            Files.setPosixFilePermissions(
                    installed.resolve("jcni-portmap"), PosixFilePermissions.fromString("rwxr-xr-x"));
            log("jcni-portmap is a stand-in: " + stand_in);
            portmap = true;
        } else if (portmap && !Files.exists(installed.resolve("jcni-portmap"))) {
            // PortmapMain exists but this jcni install does not write it yet: the same launcher by hand.
            String java = Jars.java();
            String bridge = Files.readString(installed.resolve("jcni-bridge"));
            Files.writeString(
                    installed.resolve("jcni-portmap"),
                    bridge.replace("io.jcni.plugins.bridge.BridgeMain", PORTMAP_MAIN));
            Files.setPosixFilePermissions(
                    installed.resolve("jcni-portmap"), PosixFilePermissions.fromString("rwxr-xr-x"));
            assertTrue(bridge.contains(java));
        }
        Path callLog = dir.resolve("plugin-calls.log");
        List<String> names = new ArrayList<>(List.of("jcni-bridge", "jcni-host-local", "jcni-loopback"));
        if (portmap) {
            names.add("jcni-portmap");
        }
        for (String n : names) {
            Path w = bin.resolve(n);
            Files.writeString(
                    w,
                    "#!/bin/sh\n"
                            + "# e2e wrapper: log the call, then run the plugin jcni install wrote\n"
                            + "printf '%s %s %s netns=%s\\n' " + n
                            + " \"$CNI_COMMAND\" \"$CNI_CONTAINERID\" \"$CNI_NETNS\" >> '" + callLog + "'\n"
                            + "exec '" + installed.resolve(n) + "' \"$@\"\n");
            Files.setPosixFilePermissions(w, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        return new Plugins(bin, installed, callLog, portmap);
    }

    // ---- the image: Debian's busybox-static, offline ----

    /** A root file system tar: /bin/busybox, the applets as symlinks to it, /www/index.html, empty mount points. */
    static Path rootfsTar(Path dir) throws IOException {
        Path root = Files.createDirectories(dir.resolve("rootfs"));
        Path bin = Files.createDirectories(root.resolve("bin"));
        Files.copy(Path.of(BUSYBOX), bin.resolve("busybox"));
        for (String a : APPLETS) {
            Files.createSymbolicLink(bin.resolve(a), Path.of("busybox"));
        }
        for (String d : List.of("etc", "proc", "sys", "dev", "tmp", "run", "www")) {
            Files.createDirectories(root.resolve(d));
        }
        Files.writeString(root.resolve("www/index.html"), "jcni-e2e\n");
        Files.writeString(root.resolve("etc/passwd"), "root:x:0:0:root:/:/bin/sh\n");
        Files.writeString(root.resolve("etc/group"), "root:x:0:\n");
        Path tar = dir.resolve("rootfs.tar");
        ok(
                "tar",
                "--owner=0",
                "--group=0",
                "--numeric-owner",
                "--sort=name",
                "-C",
                root.toString(),
                "-cf",
                tar.toString(),
                ".");
        return tar;
    }

    /**
     * An OCI image layout archive (the format {@code ctr image import} reads) holding one image whose only layer
     * is {@code layer}: blobs/sha256/{layer, config, manifest}, index.json naming it {@code name}, oci-layout.
     */
    static Path ociArchive(Path dir, Path layer, String name) throws IOException {
        Path oci = Files.createDirectories(dir.resolve("oci"));
        Path blobs = Files.createDirectories(oci.resolve("blobs/sha256"));
        byte[] layerBytes = Files.readAllBytes(layer);
        String layerDigest = blob(blobs, layerBytes);
        String arch = switch (System.getProperty("os.arch")) {
            case "amd64", "x86_64" -> "amd64";
            case "aarch64" -> "arm64";
            default -> System.getProperty("os.arch");
        };
        byte[] config = ("{\"architecture\":\"" + arch
                        + "\",\"os\":\"linux\",\"config\":{\"Env\":[\"PATH=/bin\"],\"Cmd\":[\"/bin/sh\"]},"
                        + "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" + layerDigest + "\"]}}")
                .getBytes(StandardCharsets.UTF_8);
        String configDigest = blob(blobs, config);
        byte[] manifest = ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                        + "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\""
                        + configDigest + "\",\"size\":" + config.length + "},"
                        + "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\""
                        + layerDigest + "\",\"size\":" + layerBytes.length + "}]}")
                .getBytes(StandardCharsets.UTF_8);
        String manifestDigest = blob(blobs, manifest);
        Files.writeString(
                oci.resolve("index.json"),
                "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                        + "\"digest\":\"" + manifestDigest + "\",\"size\":" + manifest.length
                        + ",\"annotations\":{\"io.containerd.image.name\":\"" + name
                        + "\",\"org.opencontainers.image.ref.name\":\"" + name.substring(name.lastIndexOf(':') + 1)
                        + "\"}}]}");
        Files.writeString(oci.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        Path tar = dir.resolve("image.oci.tar");
        ok("tar", "--owner=0", "--group=0", "--numeric-owner", "-C", oci.toString(), "-cf", tar.toString(), ".");
        return tar;
    }

    private static String blob(Path blobs, byte[] content) throws IOException {
        try {
            String hex = HexFormat.of()
                    .formatHex(MessageDigest.getInstance("SHA-256").digest(content));
            Files.write(blobs.resolve(hex), content);
            return "sha256:" + hex;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    // ---- the network ----

    /** A random 10.x.y.0/24 (x in 200..249) no route of the host overlaps: returns "10.x.y". */
    static String freeSubnet() {
        String routes = ok("ip", "-4", "route", "show", "table", "all");
        for (int tries = 0; tries < 50; tries++) {
            int x = 200 + ThreadLocalRandom.current().nextInt(50),
                    y = ThreadLocalRandom.current().nextInt(256);
            String prefix = "10." + x + "." + y;
            boolean clash = routes.lines()
                    .map(l -> l.split(" ")[0])
                    .filter(d -> d.matches("[0-9.]+(/\\d+)?"))
                    .anyMatch(d -> overlaps(d, prefix));
            if (!clash) {
                return prefix;
            }
        }
        throw new IllegalStateException("no free 10.2xx.y.0/24 on this host");
    }

    private static boolean overlaps(String route, String prefix24) {
        String[] p = route.split("/");
        int len = p.length == 2 ? Integer.parseInt(p[1]) : 32;
        long a = ip(p[0]), b = ip(prefix24 + ".0");
        int common = Math.min(len, 24);
        long mask = common == 0 ? 0 : (0xffffffffL << (32 - common)) & 0xffffffffL;
        return (a & mask) == (b & mask);
    }

    private static long ip(String s) {
        String[] o = s.split("\\.");
        long v = 0;
        for (int i = 0; i < 4; i++) {
            v = (v << 8) | (i < o.length ? Long.parseLong(o[i]) : 0);
        }
        return v;
    }

    /** A free TCP port on the host, from the high non-ephemeral range. */
    static int freePort() {
        for (int tries = 0; tries < 100; tries++) {
            int port = 20000 + ThreadLocalRandom.current().nextInt(10000);
            try (ServerSocket s = new ServerSocket()) {
                s.bind(new InetSocketAddress("0.0.0.0", port));
                return port;
            } catch (IOException ignored) {
                // taken
            }
        }
        throw new IllegalStateException("no free port");
    }

    /**
     * The network configuration both runtimes use: jcni-bridge (gateway, masquerade) with jcni-host-local in a
     * private dataDir, jcni-portmap (portMappings) when present, then jcni-loopback.
     */
    static String conflist(String net, String bridge, String prefix, Path dataDir, boolean portmap) {
        return """
                {
                  "cniVersion": "1.0.0",
                  "name": "%s",
                  "plugins": [
                    {
                      "type": "jcni-bridge",
                      "bridge": "%s",
                      "isGateway": true,
                      "ipMasq": true,
                      "hairpinMode": true,
                      "ipam": {
                        "type": "jcni-host-local",
                        "dataDir": "%s",
                        "ranges": [[{"subnet": "%s.0/24"}]],
                        "routes": [{"dst": "0.0.0.0/0"}]
                      }
                    },%s
                    {
                      "type": "jcni-loopback"
                    }
                  ]
                }
                """.formatted(net, bridge, dataDir, prefix, portmap ? """

                    {
                      "type": "jcni-portmap",
                      "capabilities": {"portMappings": true}
                    },""" : "");
    }

    // ---- checks ----

    /** An HTTP GET from the node; the body, or the exception's text. */
    static String httpGet(String host, int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 3000);
            s.setSoTimeout(5000);
            s.getOutputStream()
                    .write(("GET / HTTP/1.0\r\nHost: " + host + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "failed: " + e;
        }
    }

    static boolean refused(String host, int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 2000);
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    /** The IPv4 address on eth0 as the container sees it. */
    static String addressIn(String ipAddrOutput) {
        var m = Pattern.compile("inet (\\d+\\.\\d+\\.\\d+\\.\\d+)/24").matcher(ipAddrOutput);
        assertTrue(m.find(), ipAddrOutput);
        return m.group(1);
    }

    /** The nftables name part jcni derives from a network name (only [a-z0-9] in ours, so the name itself). */
    static String nftName(String net) {
        assertTrue(net.matches("[a-z0-9]+"), net);
        return net;
    }

    /**
     * After every container is gone: no port on the bridge, no address reserved in the dataDir, no nftables rule
     * or element of any jcni table naming a container address or the host port, no cache entry of the network,
     * nothing listening on the host port.
     */
    static void assertNothingLeft(String net, String bridge, Path dataDir, List<String> addresses, int hostPort)
            throws IOException {
        List<String> failures = new ArrayList<>();
        // every link whose master is the bridge, veths included
        List<String> ports = Json.objects(ok("ip", "-j", "-d", "link", "show", "master", bridge)).stream()
                .map(port -> port.get("ifname") + " ("
                        + Witness.map(port.get("linkinfo")).get("info_kind") + ")")
                .toList();
        if (!ports.isEmpty()) {
            failures.add("ports left on " + bridge + ": " + ports);
        }
        Path netDir = dataDir.resolve(net);
        if (Files.isDirectory(netDir)) {
            try (Stream<Path> s = Files.list(netDir)) {
                List<String> left = s.map(p -> p.getFileName().toString())
                        .filter(n -> !n.equals("lock") && !n.startsWith("last_reserved_ip"))
                        .toList();
                if (!left.isEmpty()) {
                    failures.add("host-local reservations left in " + netDir + ": " + left);
                }
            }
        }
        String ruleset = ok("nft", "list", "ruleset"); // iptables-nft's tables included
        for (String a : addresses) {
            if (Pattern.compile("(?<![0-9.])" + Pattern.quote(a) + "(?![0-9])")
                    .matcher(ruleset)
                    .find()) {
                failures.add("the nftables ruleset still names " + a + ":\n" + ruleset);
            }
        }
        if (hostPort > 0
                && Pattern.compile("(dport|:) ?" + hostPort + "(?![0-9])")
                        .matcher(ruleset)
                        .find()) {
            failures.add("the nftables ruleset still names port " + hostPort + ":\n" + ruleset);
        }
        for (String table : jcniTables()) {
            String text = ok("nft", "list", "table", table.split(" ")[0], table.split(" ")[1]);
            if (hostPort > 0
                    && Pattern.compile("(?<![0-9])" + hostPort + "(?![0-9])")
                            .matcher(text)
                            .find()) {
                failures.add("nft table " + table + " still names host port " + hostPort + ":\n" + text);
            }
        }
        // One table serves every network: nothing of this one may stay in it (no element commented "<net>/…").
        String masq =
                Commands.of("nft", "list", "table", "inet", "jcni").result().out();
        if (masq.contains("comment \"" + net + "/")) {
            failures.add("masquerade elements of " + net + " left:\n" + masq);
        }
        if (masq.contains("_" + nftName(net))) {
            failures.add("per-network nft objects of " + net + " left:\n" + masq);
        }
        if (Files.isDirectory(CNI_CACHE)) {
            try (Stream<Path> s = Files.list(CNI_CACHE)) {
                List<String> left = s.map(p -> p.getFileName().toString())
                        .filter(n -> n.startsWith(net + "-"))
                        .toList();
                if (!left.isEmpty()) {
                    failures.add("libcni cache entries left: " + left);
                }
            }
        }
        if (hostPort > 0) {
            String listen = ok("ss", "-Hltnu", "sport", "= :" + hostPort);
            if (!listen.isBlank()) {
                failures.add("something listens on host port " + hostPort + ": " + listen);
            }
            if (!refused("127.0.0.1", hostPort)) {
                failures.add("127.0.0.1:" + hostPort + " still answers");
            }
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
    }

    /** "family name" of every nftables table with jcni in its name. */
    static List<String> jcniTables() {
        return ok("nft", "list", "tables")
                .lines()
                .map(String::strip)
                .filter(l -> l.startsWith("table "))
                .map(l -> l.substring(6))
                .filter(t -> t.contains("jcni"))
                .toList();
    }

    /** Removes what DEL keeps by design (the bridge) once the test is done; the network has no nft objects of its own. */
    static void removeNetwork(String bridge) {
        Commands.of("ip", "link", "del", bridge).result();
    }

    /** Unmounts whatever is mounted under {@code dir} (deepest first), then deletes it; a failure is logged. */
    static void removeTree(Path dir) {
        try {
            Trees.remove(dir);
        } catch (UncheckedIOException e) {
            log(e.getMessage() + ": " + e.getCause());
        }
    }

    /** Runs {@code check} until {@code done} holds of its result, for up to {@code timeout}; the last result. */
    static Commands.Result retry(Duration timeout, Supplier<Commands.Result> check, Predicate<Commands.Result> done) {
        long end = System.nanoTime() + timeout.toNanos();
        Commands.Result r = check.get();
        while (!done.test(r) && System.nanoTime() < end) {
            try {
                Thread.sleep(300); // the polling interval of a wait on a condition
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            r = check.get();
        }
        return r;
    }
}
