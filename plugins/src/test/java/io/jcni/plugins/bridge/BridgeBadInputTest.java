package io.jcni.plugins.bridge;

import static io.jcni.plugins.bridge.BridgeTests.error;
import static io.jcni.plugins.bridge.BridgeTests.ok;
import static io.jcni.plugins.testing.PluginFixture.env;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.jcni.cni.PluginRequest;
import io.jcni.cni.PluginResponse;
import io.jcni.cni.Skeleton;
import io.jcni.plugins.bridge.BridgeBadInputCases.Case;
import io.jcni.plugins.testing.PluginFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The bridge plugin's answer to bad input, as a table: each row is one request (environment
 * changes + stdin) and the CNI error code it must produce. For every row: exit status 1, an error
 * object with cniVersion, that code and a message — and nothing changed: the fixture's host links,
 * the pod namespace's links, the IPAM reservations and the network's NAT set elements are the same
 * before and after. A base attachment made before the table runs must survive every row.
 *
 * <p>The rows are {@link BridgeBadInputCases} (shared with the daemon's client tests). Expected
 * code 0 (only the IgnoreUnknown row) means success, then DEL, then the same no-leak check.
 */
class BridgeBadInputTest {
    static PluginFixture f;
    static String baseNs;
    static String baseIp;
    static Path regularFile;
    static Path directory;
    static BridgeBadInputCases cases;

    @BeforeAll
    static void setUp() throws Exception {
        f = new PluginFixture("bi");
        regularFile = f.dataDir.resolve("not-a-netns");
        Files.writeString(regularFile, "x");
        directory = Files.createDirectory(f.dataDir.resolve("a-dir"));
        cases = new BridgeBadInputCases(f, regularFile, directory);
        baseNs = f.netns("base");
        baseIp = BridgeBadInputCases.firstIp(cases.run(env("ADD", "base", baseNs, "eth0"), cases.validConfig()));
    }

    @AfterAll
    static void tearDown() {
        f.close();
    }

    @TestFactory
    Stream<DynamicTest> badInput() {
        List<Case> table = cases.table();
        if (table.size() < 40) {
            throw new AssertionError("the matrix has only " + table.size() + " rows");
        }
        int[] n = {0};
        return table.stream()
                .map(c -> DynamicTest.dynamicTest(c.toString(), () -> runCase(c, "c" + Integer.toString(n[0]++, 36))));
    }

    private static void runCase(Case c, String nsTag) throws Exception {
        String ns = f.netns(nsTag);
        c.setup().accept(ns);
        Map<String, String> env = BridgeBadInputCases.requestEnv(c, "bad" + nsTag, ns, baseIp);
        BridgeTests.Snapshot before = BridgeTests.Snapshot.of(f, ns, baseNs);
        // the host end's name, looked up in the whole host (wherever it might be, attached or not)
        String veth = BridgeTests.stableVethName(
                f.network, env.getOrDefault("CNI_CONTAINERID", ""), env.getOrDefault("CNI_IFNAME", ""));
        boolean vethBefore = BridgeTests.hostHasLink(veth);
        PluginResponse r = Skeleton.handle(new Bridge(), new PluginRequest(env, c.stdin()));
        if (c.code() == 0) {
            ok(r);
            Map<String, String> del = new HashMap<>(env);
            del.put("CNI_COMMAND", "DEL");
            ok(Skeleton.handle(new Bridge(), new PluginRequest(del, c.stdin())));
        } else {
            error(r, c.code());
        }
        BridgeTests.Snapshot after = BridgeTests.Snapshot.of(f, ns, baseNs);
        assertEquals(vethBefore, BridgeTests.hostHasLink(veth), () -> c.name() + ": host veth " + veth);
        assertEquals(
                before, after, () -> c.name() + ": the failed request changed something; response " + r.stdoutText());
        assertEquals(
                List.of(baseIp),
                f.reservations().stream().filter(a -> a.equals(baseIp)).toList(),
                "the base pod's reservation survives");
        assertEquals(true, f.natElements().contains(baseIp), "the base pod's NAT element survives");
        assertEquals(true, PluginFixture.nsLinks(baseNs).contains("eth0"), "the base pod's eth0 survives");
    }
}
