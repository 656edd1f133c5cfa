package io.jcni.plugins.hostlocal;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.cni.PluginRequest;
import io.jcni.cni.PluginResponse;
import io.jcni.cni.Skeleton;
import io.jcni.cni.json.Json;
import io.jcni.testkit.Commands;
import io.jcni.testkit.TestNames;
import io.jcni.testkit.TestNetns;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

/**
 * Shared plumbing of the host-local tests: one named namespace per test class (skel wants a
 * CNI_NETNS for ADD/CHECK; host-local never enters it), a fresh data directory under /tmp per
 * test, and the exec contract driven through {@link Skeleton#handle} — env map + config bytes in,
 * stdout bytes + exit code out — plus the reference Go plugin run as a process.
 */
abstract class HostLocalTestBase {
    static final String NET = "hlnet";
    static final String REFERENCE = "/usr/lib/cni/host-local";
    /** Closed after each test class: its namespace goes, also when a test failed. */
    @AutoClose
    static final TestNetns NAMESPACES = new TestNetns();

    static String netnsName;
    static String netnsPath;

    Path dataDir;

    @BeforeAll
    static void createNamespace() {
        netnsName = TestNames.unique("jhl");
        netnsPath = NAMESPACES.create(netnsName);
    }

    @BeforeEach
    void createDataDir() throws IOException {
        dataDir = Files.createTempDirectory(Path.of("/tmp"), "jhl-data");
    }

    @AfterEach
    void deleteDataDir() throws IOException {
        if (dataDir != null && Files.exists(dataDir)) {
            try (Stream<Path> s = Files.walk(dataDir)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    /** Empties the network directory (between the iterations of a per-version loop). */
    void resetStore() throws IOException {
        if (Files.exists(netDir())) {
            try (Stream<Path> s = Files.walk(netDir())) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    // ---- configurations ----

    /** A network configuration with {@code ipamBody} (JSON members, without braces) inside ipam. */
    String conf(String version, String ipamBody) {
        return conf(version, ipamBody, "");
    }

    /** Same, with extra top-level members ({@code "runtimeConfig": …}, {@code "args": …}). */
    String conf(String version, String ipamBody, String extraTop) {
        return "{\"cniVersion\":\"" + version + "\",\"name\":\"" + NET + "\",\"type\":\"host-local\","
                + (extraTop.isEmpty() ? "" : extraTop + ",")
                + "\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"" + dataDir + "\""
                + (ipamBody.isEmpty() ? "" : "," + ipamBody) + "}}";
    }

    static String ranges(String... subnets) {
        StringBuilder sb = new StringBuilder("\"ranges\":[");
        for (int i = 0; i < subnets.length; i++) {
            sb.append(i > 0 ? "," : "")
                    .append("[{\"subnet\":\"")
                    .append(subnets[i])
                    .append("\"}]");
        }
        return sb.append(']').toString();
    }

    // ---- running ----

    static PluginResponse run(String command, String id, String ifname, String config) {
        return run(command, id, ifname, config, "");
    }

    static PluginResponse run(String command, String id, String ifname, String config, String cniArgs) {
        Map<String, String> env = new HashMap<>();
        env.put("CNI_COMMAND", command);
        env.put("CNI_PATH", "/usr/lib/cni");
        if (!command.equals("GC") && !command.equals("STATUS")) {
            env.put("CNI_CONTAINERID", id);
            env.put("CNI_NETNS", netnsPath);
            env.put("CNI_IFNAME", ifname);
        }
        if (!cniArgs.isEmpty()) {
            env.put("CNI_ARGS", cniArgs);
        }
        return Skeleton.handle(new HostLocal(), new PluginRequest(env, config.getBytes(StandardCharsets.UTF_8)));
    }

    /** The reference Go plugin, exec'd with the same contract. */
    static PluginResponse runReference(String command, String id, String ifname, String config) {
        Commands.Result r = Commands.of(REFERENCE)
                .separateErr()
                .stdin(config)
                .timeout(Duration.ofSeconds(60))
                .env(Map.of(
                        "CNI_COMMAND",
                        command,
                        "CNI_CONTAINERID",
                        id,
                        "CNI_NETNS",
                        netnsPath,
                        "CNI_IFNAME",
                        ifname,
                        "CNI_PATH",
                        "/usr/lib/cni"))
                .result();
        if (r.code() == Commands.NOT_STARTED || r.code() == Commands.TIMED_OUT) {
            throw new AssertionError("running " + REFERENCE + ": " + r);
        }
        return new PluginResponse(r.stdout(), r.err(), r.code());
    }

    // ---- assertions ----

    static Map<String, Object> ok(PluginResponse r) {
        assertEquals(0, r.exitCode(), () -> "expected success, got " + r.stdoutText() + " / " + r.stderr());
        return r.stdout().length == 0 ? Map.of() : json(r.stdout());
    }

    static void okEmpty(PluginResponse r) {
        assertEquals(0, r.exitCode(), () -> "expected success, got " + r.stdoutText() + " / " + r.stderr());
        assertEquals("", r.stdoutText());
    }

    static Map<String, Object> json(byte[] data) {
        try {
            return Json.parseObject(data);
        } catch (io.jcni.cni.json.JsonException e) {
            throw new AssertionError("not a JSON object: " + new String(data, StandardCharsets.UTF_8), e);
        }
    }

    /** An error object with {@code code}, whose msg + details contain every fragment. */
    static Map<String, Object> error(PluginResponse r, int code, String... fragments) {
        assertEquals(1, r.exitCode(), () -> "expected failure, got " + r.stdoutText());
        Map<String, Object> e = json(r.stdout());
        assertEquals((long) code, e.get("code"), r.stdoutText());
        String text = e.get("msg") + " " + e.getOrDefault("details", "");
        for (String f : fragments) {
            assertTrue(text.contains(f), () -> "error \"" + text + "\" lacks \"" + f + "\"");
        }
        return e;
    }

    /** An ADD result checked field by field: version, ips (address/gateway, version only in 0.x), no interfaces. */
    @SuppressWarnings("unchecked")
    static void assertIps(Map<String, Object> result, String version, String... addressGatewayPairs) {
        assertEquals(version, result.get("cniVersion"));
        assertFalse(result.containsKey("interfaces"), "IPAM results carry no interfaces");
        List<Object> ips = (List<Object>) result.get("ips");
        assertNotNull(ips, "ips");
        assertEquals(addressGatewayPairs.length / 2, ips.size(), String.valueOf(ips));
        for (int i = 0; i < ips.size(); i++) {
            Map<String, Object> ip = (Map<String, Object>) ips.get(i);
            String address = addressGatewayPairs[2 * i];
            assertEquals(address, ip.get("address"));
            assertEquals(addressGatewayPairs[2 * i + 1], ip.get("gateway"));
            assertFalse(ip.containsKey("interface"), "no interface index from IPAM");
            if (version.startsWith("0.")) {
                assertEquals(address.contains(":") ? "6" : "4", ip.get("version"));
                assertEquals(3, ip.size(), String.valueOf(ip));
            } else {
                assertFalse(ip.containsKey("version"), "1.x results have no ips[].version");
                assertEquals(2, ip.size(), String.valueOf(ip));
            }
        }
    }

    /** The address part of ips[i]. */
    @SuppressWarnings("unchecked")
    static String address(Map<String, Object> result, int i) {
        String a = (String) ((Map<String, Object>) ((List<Object>) result.get("ips")).get(i)).get("address");
        return a.substring(0, a.indexOf('/'));
    }

    // ---- the store ----

    Path netDir() {
        return dataDir.resolve(NET);
    }

    /** Reservation file names (addresses) in the network directory. */
    TreeSet<String> reservations() throws IOException {
        TreeSet<String> out = new TreeSet<>();
        if (!Files.isDirectory(netDir())) {
            return out;
        }
        try (Stream<Path> s = Files.list(netDir())) {
            for (Path p : s.toList()) {
                String n = p.getFileName().toString();
                if (Store.addressOf(n) != null) {
                    out.add(n);
                }
            }
        }
        return out;
    }

    String fileText(String name) throws IOException {
        return Files.readString(netDir().resolve(name));
    }

    String mode(String name) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(netDir().resolve(name)));
    }

    /**
     * Makes every reservation older than GC's grace period (an hour old), as reservations of
     * attachments whose ADD finished long ago are.
     */
    void ageReservations() throws IOException {
        for (String name : reservations()) {
            Files.setLastModifiedTime(
                    netDir().resolve(name),
                    java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() - 3_600_000));
        }
    }

    /** Writes a reservation by hand (e.g. a legacy one holding only the container ID). */
    void writeReservation(String ip, String content) throws IOException {
        Files.createDirectories(netDir());
        Files.writeString(netDir().resolve(ip), content);
    }

    static List<String> list(String... s) {
        return new ArrayList<>(List.of(s));
    }
}
