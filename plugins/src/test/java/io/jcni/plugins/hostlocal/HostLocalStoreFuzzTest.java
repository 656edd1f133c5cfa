package io.jcni.plugins.hostlocal;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.cni.CniError;
import io.jcni.cni.PluginResponse;
import io.jcni.cni.json.Json;
import io.jcni.testkit.Fuzz;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Fuzzes host-local's on-disk store parser and its configuration (ranges, runtimeConfig ips and
 * ipRanges, CNI_ARGS IP) through {@code Skeleton.handle}: random content in the reservation,
 * {@code last_reserved_ip.<i>} and {@code lock} files of a fresh data directory (and strangers:
 * directories or odd names where files are expected), then a random verb. Every run gives success
 * or a spec error — never INTERNAL — and an ADD that succeeds owns the address it returned.
 */
class HostLocalStoreFuzzTest extends HostLocalTestBase {
    static final String[] FILES = {
        "10.99.7.2",
        "10.99.7.3",
        "10.99.7.4",
        "10.99.7.5",
        "last_reserved_ip.0",
        "last_reserved_ip.1",
        "lock",
        "010.99.7.2",
        "10.99.7.255",
        ".jcni-tmp-1",
        "fd00:99::2",
        "10.99.7.0"
    };
    static final String[] CONTENTS = {
        "",
        "jhf-c1\r\neth0",
        "jhf-c1",
        "jhf-c2\r\neth0\r\nmore",
        "10.99.7.3",
        "10.99.7.300",
        "::1",
        "\r\n",
        "\u0000\u0000",
        "0123456789abcdef0123456789abcdef0123\n",
        "10.99.7.5\n10.99.7.4"
    };

    void writeStore(Random r) throws Exception {
        resetStore();
        Path net = netDir();
        Files.createDirectories(net);
        for (int n = r.nextInt(6); n > 0; n--) {
            Path f = net.resolve(Fuzz.pick(r, FILES));
            if (Files.isDirectory(f)) {
                continue;
            }
            if (r.nextInt(12) == 0) {
                Files.deleteIfExists(f);
                Files.createDirectory(f); // a stranger where a file is expected
                continue;
            }
            byte[] content = switch (r.nextInt(3)) {
                case 0 -> Fuzz.pick(r, CONTENTS).getBytes(StandardCharsets.UTF_8);
                case 1 -> Fuzz.bytes(r, 80);
                default -> Fuzz.mutateBytes(r, Fuzz.pick(r, CONTENTS).getBytes(StandardCharsets.UTF_8));
            };
            Files.write(f, content);
        }
    }

    Path netDir() {
        return dataDir.resolve(NET);
    }

    String config(Random r, String version) throws Exception {
        String base = conf(
                version,
                "\"ranges\":[[{\"subnet\":\"10.99.7.0/29\"}],[{\"subnet\":\"fd00:99::/125\"}]]",
                "\"runtimeConfig\":{\"ips\":[\"10.99.7.4\"]},\"args\":{\"cni\":{\"ips\":[\"10.99.7.3\"]}},"
                        + "\"cni.dev/valid-attachments\":[{\"containerID\":\"jhf-c1\",\"ifname\":\"eth0\"}]");
        if (r.nextBoolean()) {
            return base;
        }
        Object doc = Json.parse(base);
        for (int n = 1 + r.nextInt(3); n > 0; n--) {
            doc = Fuzz.mutateJson(r, doc);
        }
        // the data directory stays the test's own, whatever the mutation did: never the host's store
        if (doc instanceof Map<?, ?> m && m.get("ipam") instanceof Map<?, ?> ipam) {
            @SuppressWarnings("unchecked")
            Map<String, Object> writable = (Map<String, Object>) ipam;
            writable.put("dataDir", dataDir.toString());
            return Json.write(doc);
        }
        return base;
    }

    static void assertSpecOutcome(PluginResponse r, String input) {
        if (r.exitCode() == 0) {
            return;
        }
        Map<String, Object> err = json(r.stdout());
        assertInstanceOf(Long.class, err.get("code"), r.stdoutText());
        assertNotEquals(
                (long) CniError.INTERNAL,
                err.get("code"),
                () -> "an uncaught exception: " + r.stdoutText() + " for " + input);
    }

    @Test
    void randomStoreContentAndConfigs() {
        Fuzz.run("host-local store", 150, r -> {
            writeStore(r);
            String version = Fuzz.pick(r, new String[] {"0.4.0", "1.0.0", "1.1.0"});
            String command = Fuzz.pick(r, new String[] {"ADD", "ADD", "DEL", "CHECK", "GC"});
            String id = Fuzz.pick(r, new String[] {"jhf-c1", "jhf-c2"});
            String cniArgs = Fuzz.pick(r, new String[] {
                "", "IP=10.99.7.5", "IP=10.99.7.9", "IP=fd00:99::3,10.99.7.2", "IgnoreUnknown=1;IP=" + Fuzz.text(r, 2)
            });
            String config = config(r, version);
            String input = command + " " + id + " CNI_ARGS=" + cniArgs + " " + config;
            PluginResponse resp = run(command, id, "eth0", config, cniArgs);
            assertSpecOutcome(resp, input);
            if (command.equals("ADD") && resp.exitCode() == 0) {
                @SuppressWarnings("unchecked")
                List<Map<String, Object>> ips =
                        (List<Map<String, Object>>) json(resp.stdout()).get("ips");
                for (Map<String, Object> ip : ips) {
                    String a = ((String) ip.get("address")).split("/")[0];
                    Path f = netDir().resolve(a);
                    assertTrue(Files.isRegularFile(f), () -> a + " not reserved after " + input);
                    assertEquals(
                            id + "\r\neth0",
                            Files.readString(f).trim(),
                            () -> a + " owned by someone else after " + input);
                }
            }
        });
    }
}
