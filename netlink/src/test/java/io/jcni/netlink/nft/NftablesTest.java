package io.jcni.netlink.nft;

import static io.jcni.netlink.nft.Nftables.INET;
import static io.jcni.netlink.nft.Nftables.IP;
import static io.jcni.netlink.nft.Nftables.IP6;
import static io.jcni.netlink.nft.Rule.Field.*;
import static org.junit.jupiter.api.Assertions.*;

import io.jcni.netlink.KernelException;
import io.jcni.netlink.NoSuchObjectException;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.testing.Scratch;
import io.jcni.testkit.Commands;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** nf_tables through netlink, in a fresh namespace per test, with nft itself as the witness. */
class NftablesTest {
    private Scratch scratch;
    private NetNs ns;
    private Nftables nft;
    /** The trace as nft syntax (shell quoting removed), for comparing with what nft lists. */
    private final List<String> traced = new ArrayList<>();
    /** The trace exactly as emitted: lines a shell can run. */
    private final List<String> shellLines = new ArrayList<>();

    /** {@code … nft 'add rule …'} → {@code … nft add rule …}. */
    static String unquoted(String line) {
        int q = line.indexOf(" nft '");
        if (q < 0) {
            return line;
        }
        String body = line.substring(q + 6, line.length() - 1).replace("'\\''", "'");
        return line.substring(0, q + 5) + body;
    }

    private final List<String[]> tables = new ArrayList<>(); // {family, name} to delete after the test

    @BeforeEach
    void setUp() {
        scratch = new Scratch("nf");
        ns = scratch.netns("n");
        nft = scratch.closeLater(Nftables.open(ns, line -> {
            shellLines.add(line);
            traced.add(unquoted(line));
        }));
    }

    @AfterEach
    void tearDown() {
        try {
            for (String[] t : tables) {
                try {
                    nft.batch().deleteTable(Integer.parseInt(t[0]), t[1]).commit();
                } catch (NoSuchObjectException gone) {
                    // already deleted by the test
                }
            }
        } finally {
            scratch.close();
        }
    }

    /** A unique table name starting with "jnf", deleted after the test. */
    private String table(int family) {
        String name = scratch.name("t");
        tables.add(new String[] {Integer.toString(family), name});
        return name;
    }

    private String nftCli(String... args) {
        String[] cmd = new String[5 + args.length];
        cmd[0] = "ip";
        cmd[1] = "netns";
        cmd[2] = "exec";
        cmd[3] = ns.name();
        cmd[4] = "nft";
        System.arraycopy(args, 0, cmd, 5, args.length);
        return Commands.run(cmd);
    }

    private static List<IpAddress> ips(String... s) {
        List<IpAddress> out = new ArrayList<>();
        for (String a : s) {
            out.add(IpAddress.parse(a));
        }
        return out;
    }

    private List<String> elementTexts(int family, String table, String set) {
        List<String> out = new ArrayList<>();
        for (NftElement e : nft.elements(family, table, set)) {
            out.add(e.toString());
        }
        out.sort(null);
        return out;
    }

    @Test
    void createsTableChainsAndSetAndListsThem() {
        String t = table(IP);
        nft.batch()
                .addTable(IP, t)
                .addChain(IP, t, "postrouting", ChainHook.nat("postrouting", 100))
                .addChain(IP, t, "pods", null)
                .addSet(IP, t, "pods", SetKeyType.IPV4_ADDR, false)
                .commit();
        // "add" is idempotent, like nft's
        nft.batch()
                .addTable(IP, t)
                .addChain(IP, t, "pods", null)
                .addSet(IP, t, "pods", SetKeyType.IPV4_ADDR, false)
                .commit();

        boolean found = false;
        for (NftTable tb : nft.tables()) {
            found |= tb.name().equals(t) && tb.family() == IP;
        }
        assertTrue(found, "table listed");
        List<NftChain> chains = nft.chains(IP, t);
        assertEquals(2, chains.size());
        for (NftChain c : chains) {
            if (c.name().equals("postrouting")) {
                assertEquals(new ChainHook("nat", "postrouting", 100, "accept"), c.hook());
            } else {
                assertEquals("pods", c.name());
                assertNull(c.hook());
            }
        }
        List<NftSet> sets = nft.sets(IP, t);
        assertEquals(1, sets.size());
        assertEquals("pods", sets.get(0).name());
        assertEquals(SetKeyType.IPV4_ADDR, sets.get(0).keyType());
        assertEquals(4, sets.get(0).keyLength());

        String json = nftCli("-j", "list", "ruleset");
        assertTrue(json.contains("\"name\": \"" + t + "\""), json);
        assertTrue(json.contains("\"type\": \"nat\", \"hook\": \"postrouting\", \"prio\": 100"), json);
        assertTrue(json.contains("\"name\": \"pods\", \"table\": \"" + t + "\", \"type\": \"ipv4_addr\""), json);

        String p = "ip netns exec " + ns.name() + " nft ";
        assertEquals(
                List.of(
                        p + "add table ip " + t,
                        p + "add chain ip " + t
                                + " postrouting { type nat hook postrouting priority 100 ; policy accept ; }",
                        p + "add chain ip " + t + " pods",
                        p + "add set ip " + t + " pods { type ipv4_addr ; }"),
                traced.subList(0, 4));
    }

    @Test
    void addsAndRemovesSeveralElementsInOneBatch() {
        String t = table(IP);
        nft.batch()
                .addTable(IP, t)
                .addSet(IP, t, "pods", SetKeyType.IPV4_ADDR, false)
                .addElements(IP, t, "pods", ips("10.1.0.2", "10.1.0.3", "10.1.0.4"))
                .commit();
        assertEquals(List.of("10.1.0.2", "10.1.0.3", "10.1.0.4"), elementTexts(IP, t, "pods"));
        // adding what is there is no error ("add", not "create")
        nft.batch().addElements(IP, t, "pods", ips("10.1.0.2")).commit();
        traced.clear();

        NftBatch b = nft.batch()
                .deleteElements(IP, t, "pods", ips("10.1.0.2", "10.1.0.4"))
                .addElements(IP, t, "pods", ips("10.1.0.5", "10.1.0.6"));
        assertEquals(2, b.size());
        b.commit();

        assertEquals(List.of("10.1.0.3", "10.1.0.5", "10.1.0.6"), elementTexts(IP, t, "pods"));
        for (NftElement e : nft.elements(IP, t, "pods")) {
            assertNotNull(e.address());
        }
        String json = nftCli("-j", "list", "set", "ip", t, "pods");
        assertTrue(
                json.contains("\"elem\": [\"10.1.0.3\", \"10.1.0.5\", \"10.1.0.6\"]")
                        || json.contains("\"10.1.0.3\"")
                                && json.contains("\"10.1.0.5\"")
                                && json.contains("\"10.1.0.6\""),
                json);
        assertFalse(json.contains("\"10.1.0.2\"") || json.contains("\"10.1.0.4\""), json);

        String p = "ip netns exec " + ns.name() + " nft ";
        assertEquals(
                List.of(
                        p + "delete element ip " + t + " pods { 10.1.0.2, 10.1.0.4 }",
                        p + "add element ip " + t + " pods { 10.1.0.5, 10.1.0.6 }"),
                traced);
    }

    @Test
    void batchWhoseLastOperationFailsLeavesNothing() {
        String t = table(IP);
        NftBatch b = nft.batch()
                .addTable(IP, t)
                .addChain(IP, t, "postrouting", ChainHook.nat("postrouting", 100))
                .addSet(IP, t, "pods", SetKeyType.IPV4_ADDR, false)
                .addElements(IP, t, "pods", ips("10.1.0.2"))
                .addRule(
                        IP,
                        t,
                        "postrouting",
                        Rule.create().inSet(IP_SADDR, "pods").masquerade(),
                        "jcni")
                .deleteElements(IP, t, "pods", ips("10.9.9.9"));
        NoSuchObjectException e = assertThrows(NoSuchObjectException.class, b::commit);
        assertEquals("delete element", e.operation());
        assertEquals("ip " + t + " pods { 10.9.9.9 }", e.object());
        assertTrue(traced.isEmpty(), "nothing traced for a failed batch");

        for (NftTable tb : nft.tables()) {
            assertNotEquals(t, tb.name());
        }
        assertFalse(nftCli("-j", "list", "ruleset").contains(t));
    }

    @Test
    void deletingWhatIsMissingIsNoSuchObject() {
        String t = table(IP);
        nft.batch()
                .addTable(IP, t)
                .addSet(IP, t, "pods", SetKeyType.IPV4_ADDR, false)
                .addElements(IP, t, "pods", ips("10.1.0.2"))
                .commit();

        NoSuchObjectException e = assertThrows(
                NoSuchObjectException.class,
                () -> nft.batch().deleteElements(IP, t, "pods", ips("10.1.0.3")).commit());
        assertTrue(e.getMessage().startsWith("delete element ip " + t + " pods { 10.1.0.3 }: "), e.getMessage());
        assertThrows(
                NoSuchObjectException.class,
                () -> nft.batch().deleteSet(IP, t, "nope").commit());
        assertThrows(
                NoSuchObjectException.class,
                () -> nft.batch().deleteChain(IP, t, "nope").commit());
        assertThrows(
                NoSuchObjectException.class,
                () -> nft.batch().deleteTable(IP, t + "x").commit());
        assertThrows(NoSuchObjectException.class, () -> nft.elements(IP, t, "nope"));
        // the existing element is still there
        assertEquals(List.of("10.1.0.2"), elementTexts(IP, t, "pods"));
    }

    @Test
    void masqueradeRuleWithCommentShowsInNftListAsTraced() {
        String t = table(IP);
        Rule masq = Rule.create()
                .inSet(IP_SADDR, "pods")
                .isNot(IP_DADDR, IpPrefix.parse("10.1.0.0/16"))
                .counter()
                .masquerade();
        assertEquals("ip saddr @pods ip daddr != 10.1.0.0/16 counter masquerade", masq.text(IP));
        nft.batch()
                .addTable(IP, t)
                .addChain(IP, t, "postrouting", ChainHook.nat("postrouting", 100))
                .addSet(IP, t, "pods", SetKeyType.IPV4_ADDR, false)
                .addRule(IP, t, "postrouting", masq, "jcni masquerade for cni0")
                .commit();
        String cmd = traced.get(traced.size() - 1);
        String prefix = "ip netns exec " + ns.name() + " nft add rule ip " + t + " postrouting ";
        assertEquals(
                prefix
                        + "ip saddr @pods ip daddr != 10.1.0.0/16 counter masquerade comment \"jcni masquerade for cni0\"",
                cmd);

        String listed = nftCli("-s", "list", "chain", "ip", t, "postrouting");
        assertTrue(listed.contains("\t\t" + cmd.substring(prefix.length()) + "\n"), listed);

        List<NftRule> rules = nft.rules(IP, t, "postrouting");
        assertEquals(1, rules.size());
        NftRule r = rules.get(0);
        assertEquals("jcni masquerade for cni0", r.comment());
        assertEquals(List.of("payload", "lookup", "payload", "bitwise", "cmp", "counter", "masq"), r.expressions());
        assertTrue(nftCli("-a", "list", "chain", "ip", t, "postrouting").contains("# handle " + r.handle()));

        nft.batch().deleteRule(IP, t, "postrouting", r.handle()).commit();
        assertTrue(nft.rules(IP, t, "postrouting").isEmpty());
        assertThrows(
                NoSuchObjectException.class,
                () -> nft.batch().deleteRule(IP, t, "postrouting", r.handle()).commit());
    }

    /** Each rule's text as nft lists it, in the rule's chain. */
    private void assertListedRules(int family, String t, String chain, List<String> expected) {
        String listed = nftCli("-s", "list", "chain", Nftables.familyName(family), t, chain);
        List<String> rules = new ArrayList<>();
        for (String line : listed.split("\n")) {
            String s = line.trim();
            if (line.startsWith("\t\t") && !s.startsWith("type ")) {
                rules.add(s);
            }
        }
        assertEquals(expected, rules, listed);
    }

    @Test
    void ruleTextsMatchWhatNftLists() {
        String t = table(IP);
        Rule dnat = Rule.create().l4proto("tcp").tcpDport(8080).fibDaddrLocal().dnat(IpAddress.parse("10.1.0.5"), 80);
        Rule udp = Rule.create()
                .is(IP_DADDR, IpPrefix.parse("192.0.2.1/32"))
                .udpDport(53)
                .dnat(IpAddress.parse("10.1.0.6"), 0);
        Rule jump = Rule.create().notInSet(IP_DADDR, "local").jump("hostports");
        Rule ret = Rule.create().is(IP_SADDR, IpPrefix.parse("10.1.0.0/24")).ret();
        Rule acc = Rule.create().tcpDport(22).counter().accept();
        nft.batch()
                .addTable(IP, t)
                .addSet(IP, t, "local", SetKeyType.IPV4_ADDR, false)
                .addChain(IP, t, "hostports", null)
                .addChain(IP, t, "prerouting", ChainHook.nat("prerouting", -100))
                .addRule(IP, t, "hostports", dnat, "hp 8080")
                .addRule(IP, t, "hostports", udp, null)
                .addRule(IP, t, "prerouting", jump, null)
                .addRule(IP, t, "prerouting", ret, null)
                .addRule(IP, t, "prerouting", acc, null)
                .commit();
        assertEquals("tcp dport 8080 fib daddr type local dnat to 10.1.0.5:80", dnat.text(IP));
        assertListedRules(IP, t, "hostports", List.of(dnat.text(IP) + " comment \"hp 8080\"", udp.text(IP)));
        assertListedRules(IP, t, "prerouting", List.of(jump.text(IP), ret.text(IP), acc.text(IP)));
    }

    @Test
    void hostPortStyleRules() {
        String t = table(IP);
        Rule l4 = Rule.create().l4proto("udp").counter().accept();
        Rule hp = Rule.create().addressPortInSet(IP_DADDR, "tcp", "hostports").dnat(IpAddress.parse("10.1.0.7"), 80);
        Rule local = Rule.create().fibDaddrLocal().jump("hostports");
        nft.batch()
                .addTable(IP, t)
                .addSet(IP, t, "hostports", SetKeyType.IPV4_ADDR_INET_SERVICE, false)
                .addElementKeys(IP, t, "hostports", List.of(SetKeyType.addressPort(IpAddress.parse("192.0.2.1"), 8080)))
                .addChain(IP, t, "hostports", null)
                .addChain(IP, t, "prerouting", ChainHook.nat("prerouting", -100))
                .addRule(IP, t, "prerouting", local, "jcni hostports")
                .addRule(IP, t, "hostports", l4, null)
                .addRule(IP, t, "hostports", hp, null)
                .commit();
        assertEquals("meta l4proto udp counter accept", l4.text(IP));
        assertEquals("ip daddr . tcp dport @hostports dnat to 10.1.0.7:80", hp.text(IP));
        assertListedRules(IP, t, "prerouting", List.of(local.text(IP) + " comment \"jcni hostports\""));
        assertListedRules(IP, t, "hostports", List.of(l4.text(IP), hp.text(IP)));
        assertEquals(List.of("192.0.2.1 . 8080"), elementTexts(IP, t, "hostports"));
        assertTrue(traced.get(2).endsWith("add element ip " + t + " hostports { 192.0.2.1 . 8080 }"), traced.get(2));
    }

    @Test
    void ipv6AndInetRules() {
        String t6 = table(IP6);
        String ti = table(INET);
        Rule masq6 = Rule.create()
                .inSet(IP6_SADDR, "pods6")
                .isNot(IP6_DADDR, IpPrefix.parse("fd00:1::/64"))
                .masquerade();
        Rule dnat6 = Rule.create().tcpDport(80).dnat(IpAddress.parse("fd00:1::5"), 8080);
        Rule inet4 = Rule.create()
                .inSet(IP_SADDR, "pods")
                .isNot(IP_DADDR, IpPrefix.parse("10.1.0.0/16"))
                .masquerade();
        Rule inet6 =
                Rule.create().isNot(IP6_DADDR, IpPrefix.parse("fd00:1::/64")).masquerade();
        Rule inetDnat = Rule.create().tcpDport(80).dnat(IpAddress.parse("10.1.0.5"), 8080);
        nft.batch()
                .addTable(IP6, t6)
                .addSet(IP6, t6, "pods6", SetKeyType.IPV6_ADDR, false)
                .addElements(IP6, t6, "pods6", ips("fd00:1::2", "fd00:1::3"))
                .addChain(IP6, t6, "postrouting", ChainHook.nat("postrouting", 100))
                .addChain(IP6, t6, "prerouting", ChainHook.nat("prerouting", -100))
                .addRule(IP6, t6, "postrouting", masq6, null)
                .addRule(IP6, t6, "prerouting", dnat6, null)
                .addTable(INET, ti)
                .addSet(INET, ti, "pods", SetKeyType.IPV4_ADDR, false)
                .addChain(INET, ti, "postrouting", ChainHook.nat("postrouting", 100))
                .addChain(INET, ti, "prerouting", ChainHook.nat("prerouting", -100))
                .addRule(INET, ti, "postrouting", inet4, null)
                .addRule(INET, ti, "postrouting", inet6, null)
                .addRule(INET, ti, "prerouting", inetDnat, null)
                .commit();
        assertEquals(List.of("fd00:1::2", "fd00:1::3"), elementTexts(IP6, t6, "pods6"));
        assertEquals("dnat to [fd00:1::5]:8080", dnat6.text(IP6).substring("tcp dport 80 ".length()));
        assertListedRules(IP6, t6, "postrouting", List.of(masq6.text(IP6)));
        assertListedRules(IP6, t6, "prerouting", List.of(dnat6.text(IP6)));
        assertListedRules(INET, ti, "postrouting", List.of(inet4.text(INET), inet6.text(INET)));
        assertListedRules(INET, ti, "prerouting", List.of(inetDnat.text(INET)));
    }

    @Test
    void intervalAndConcatenatedSets() {
        String t = table(IP);
        nft.batch()
                .addTable(IP, t)
                .addSet(IP, t, "nets", SetKeyType.IPV4_ADDR, true)
                .addPrefixes(IP, t, "nets", List.of(IpPrefix.parse("10.1.0.0/16"), IpPrefix.parse("192.0.2.7/32")))
                .addSet(IP, t, "hp", SetKeyType.IPV4_ADDR_INET_SERVICE, false)
                .addElementKeys(IP, t, "hp", List.of(SetKeyType.addressPort(IpAddress.parse("10.1.0.5"), 8080)))
                .addSet(IP, t, "ports", SetKeyType.INET_SERVICE, false)
                .addElementKeys(IP, t, "ports", List.of(SetKeyType.port(80), SetKeyType.port(443)))
                .commit();
        String listed = nftCli("list", "table", "ip", t);
        assertTrue(listed.contains("elements = { 10.1.0.0/16, 192.0.2.7 }"), listed);
        assertTrue(listed.contains("type ipv4_addr . inet_service"), listed);
        assertTrue(listed.contains("elements = { 10.1.0.5 . 8080 }"), listed);
        assertTrue(listed.contains("elements = { 80, 443 }") || listed.contains("elements = { 443, 80 }"), listed);
        assertTrue(nft.sets(IP, t).size() >= 3);

        nft.batch()
                .deletePrefixes(IP, t, "nets", List.of(IpPrefix.parse("192.0.2.7/32")))
                .deleteElementKeys(IP, t, "ports", List.of(SetKeyType.port(80)))
                .commit();
        listed = nftCli("list", "table", "ip", t);
        assertTrue(listed.contains("elements = { 10.1.0.0/16 }"), listed);
        assertTrue(listed.contains("elements = { 443 }"), listed);
    }

    @Test
    void flushAndDeleteChainSetAndTable() {
        String t = table(IP);
        nft.batch()
                .addTable(IP, t)
                .addSet(IP, t, "pods", SetKeyType.IPV4_ADDR, false)
                .addChain(IP, t, "c", null)
                .addRule(IP, t, "c", Rule.create().inSet(IP_SADDR, "pods").accept(), "a")
                .addRule(IP, t, "c", Rule.create().counter().ret(), "b")
                .commit();
        assertEquals(2, nft.rules(IP, t, "c").size());
        nft.batch().flushChain(IP, t, "c").commit();
        assertTrue(nft.rules(IP, t, "c").isEmpty());
        nft.batch().deleteChain(IP, t, "c").deleteSet(IP, t, "pods").commit();
        assertTrue(nft.chains(IP, t).isEmpty());
        assertTrue(nft.sets(IP, t).isEmpty());
        nft.batch().deleteTable(IP, t).commit();
        for (NftTable tb : nft.tables()) {
            assertNotEquals(t, tb.name());
        }
        assertTrue(traced.get(traced.size() - 1).endsWith("nft delete table ip " + t));
    }

    @Test
    void tracedCommandsReplayedThroughNftGiveTheSameRuleset() {
        String t = table(IP);
        nft.batch()
                .addTable(IP, t)
                .addChain(IP, t, "postrouting", ChainHook.nat("postrouting", 100))
                .addSet(IP, t, "pods", SetKeyType.IPV4_ADDR, false)
                .addElements(IP, t, "pods", ips("10.1.0.2", "10.1.0.3"))
                .addRule(
                        IP,
                        t,
                        "postrouting",
                        Rule.create()
                                .inSet(IP_SADDR, "pods")
                                .isNot(IP_DADDR, IpPrefix.parse("10.1.0.0/16"))
                                .masquerade(),
                        "jcni pods")
                .addSet(IP, t, "nets", SetKeyType.IPV4_ADDR, true)
                .addPrefixes(IP, t, "nets", List.of(IpPrefix.parse("10.2.0.0/16"), IpPrefix.parse("192.0.2.9/32")))
                .addSet(IP, t, "hp", SetKeyType.IPV4_ADDR_INET_SERVICE, false)
                .addElementKeys(IP, t, "hp", List.of(SetKeyType.addressPort(IpAddress.parse("192.0.2.1"), 8080)))
                .addChain(IP, t, "hostports", null)
                .addChain(IP, t, "prerouting", ChainHook.nat("prerouting", -100))
                .addRule(IP, t, "prerouting", Rule.create().fibDaddrLocal().jump("hostports"), null)
                .addRule(
                        IP,
                        t,
                        "hostports",
                        Rule.create()
                                .addressPortInSet(IP_DADDR, "tcp", "hp")
                                .counter()
                                .dnat(IpAddress.parse("10.1.0.7"), 80),
                        "hp")
                .addRule(
                        IP,
                        t,
                        "hostports",
                        Rule.create().notInSet(IP_SADDR, "nets").ret(),
                        null)
                .commit();
        String t6 = table(IP6);
        String ti = table(INET);
        nft.batch()
                .addTable(IP6, t6)
                .addSet(IP6, t6, "pods", SetKeyType.IPV6_ADDR, false)
                .addElements(IP6, t6, "pods", ips("fd00:1::2"))
                .addChain(IP6, t6, "postrouting", ChainHook.nat("postrouting", 100))
                .addRule(
                        IP6,
                        t6,
                        "postrouting",
                        Rule.create()
                                .inSet(IP6_SADDR, "pods")
                                .isNot(IP6_DADDR, IpPrefix.parse("fd00:1::/64"))
                                .masquerade(),
                        "jcni pods6")
                .addTable(INET, ti)
                .addChain(INET, ti, "forward", ChainHook.filter("forward", 0).withPolicy("drop"))
                .addRule(
                        INET,
                        ti,
                        "forward",
                        Rule.create()
                                .is(IP_SADDR, IpPrefix.parse("10.1.0.0/16"))
                                .accept(),
                        null)
                .addRule(
                        INET,
                        ti,
                        "forward",
                        Rule.create()
                                .is(IP6_SADDR, IpPrefix.parse("fd00:1::/64"))
                                .tcpDport(443)
                                .accept(),
                        null)
                .addRule(
                        INET,
                        ti,
                        "forward",
                        Rule.create().udpDport(53).counter().accept(),
                        "dns")
                .commit();
        // a rule deleted by handle and a flushed chain replay too
        nft.batch()
                .addChain(IP, t, "tmp", null)
                .addRule(IP, t, "tmp", Rule.create().accept(), null)
                .commit();
        nft.batch().flushChain(IP, t, "tmp").deleteChain(IP, t, "tmp").commit();
        String ours = nftCli("-s", "list", "ruleset");

        NetNs other = scratch.netns("r");
        String prefix = "ip netns exec " + ns.name() + " nft ";
        StringBuilder script = new StringBuilder();
        for (String c : traced) {
            assertTrue(c.startsWith(prefix), c);
            script.append(c.substring(prefix.length())).append('\n');
        }
        String theirs = Commands.run(
                "ip",
                "netns",
                "exec",
                other.name(),
                "sh",
                "-c",
                "printf '%s' \"$1\" | nft -f - && nft -s list ruleset",
                "sh",
                script.toString());
        assertEquals(ours, theirs);

        // The lines as traced (shell-quoted) run as they are in a shell, one command each.
        NetNs third = scratch.netns("s");
        StringBuilder shell = new StringBuilder("set -e\n");
        for (String line : shellLines) {
            shell.append(line.replace("ip netns exec " + ns.name() + " ", "ip netns exec " + third.name() + " "))
                    .append('\n');
        }
        Commands.run("sh", "-c", shell.toString());
        assertEquals(ours, Commands.run("ip", "netns", "exec", third.name(), "nft", "-s", "list", "ruleset"));
    }

    @Test
    void refusesBadInput() {
        assertThrows(IllegalArgumentException.class, () -> nft.batch().addTable(3, "jnfx"));
        assertThrows(
                io.jcni.netlink.InvalidNameException.class, () -> nft.batch().addTable(IP, "bad name"));
        assertThrows(
                IllegalArgumentException.class,
                () -> nft.batch().addRule(IP, "jnfx", "c", Rule.create().accept(), "x".repeat(129)));
        assertThrows(IllegalArgumentException.class, () -> Rule.create().is(IP_SADDR, IpPrefix.parse("fd00::/64")));
        assertThrows(
                IllegalArgumentException.class,
                () -> nft.batch()
                        .addRule(
                                IP6,
                                "jnfx",
                                "c",
                                Rule.create().inSet(IP_SADDR, "pods").accept(),
                                null));
        assertThrows(
                IllegalArgumentException.class,
                () -> nft.batch().addRule(IP, "jnfx", "c", Rule.create().dnat(IpAddress.parse("fd00::1"), 0), null));
        KernelException e = assertThrows(
                KernelException.class,
                () -> nft.batch().addChain(IP, "jnfmissing", "c", null).commit());
        assertEquals("add chain", e.operation());
    }
}
