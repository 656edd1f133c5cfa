package io.jcni.plugins.portmap;

import io.jcni.cni.CniError;
import io.jcni.cni.ConfigObject;
import io.jcni.cni.Invocation;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.nft.Nftables;
import io.jcni.netlink.nft.Rule;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.UnaryOperator;

/** The {@code portmap} plugin's options, validated. */
final class PortmapConfig {
    /** One {@code runtimeConfig.portMappings} entry; {@code hostIP} null means every host address. */
    record Mapping(int hostPort, int containerPort, int protocol, IpAddress hostIP) {
        String protocolName() {
            return switch (protocol) {
                case 6 -> "tcp";
                case 17 -> "udp";
                default -> "sctp";
            };
        }

        /** Whether this mapping applies to container addresses of the family of {@code a}. */
        boolean appliesTo(IpAddress a) {
            return hostIP == null || hostIP.isV4() == a.isV4();
        }

        @Override
        public String toString() {
            return (hostIP == null ? "" : hostIP.isV4() ? hostIP + ":" : "[" + hostIP + "]:") + hostPort + "/" + protocolName()
                    + " -> " + containerPort;
        }
    }

    boolean snat = true;
    boolean masqAll;
    Integer markMasqBit;
    List<Mapping> mappings = new ArrayList<>();
    /** Whether runtimeConfig.portMappings was given at all (DEL falls back to a search without it). */
    boolean mappingsGiven;
    /** The conditions as rule builders, and their text. */
    UnaryOperator<Rule> conditionsV4 = r -> r, conditionsV6 = r -> r;
    String conditionsV4Text = "", conditionsV6Text = "";

    static PortmapConfig parse(Invocation inv) throws CniError {
        ConfigObject o = inv.config();
        PortmapConfig c = new PortmapConfig();
        c.snat = o.bool("snat", true);
        c.masqAll = o.bool("masqAll", false);
        String backend = o.string("backend", "");
        if (backend.equals("iptables")) {
            throw new CniError(CniError.UNSUPPORTED_FIELD, "unsupported field",
                    "backend \"iptables\": jcni-portmap works with nftables only");
        }
        if (!backend.isEmpty() && !backend.equals("nftables")) {
            throw CniError.invalidConfig("unrecognized backend \"" + backend + "\"");
        }
        if (o.has("externalSetMarkChain")) {
            throw new CniError(CniError.UNSUPPORTED_FIELD, "unsupported field",
                    "externalSetMarkChain is iptables-only; jcni-portmap works with nftables");
        }
        if (o.has("markMasqBit")) {
            long bit = o.integer("markMasqBit", 13, Long.MIN_VALUE, Long.MAX_VALUE);
            if (bit < 0 || bit > 31) {
                throw CniError.invalidConfig("MasqMarkBit must be between 0 and 31");
            }
            c.markMasqBit = (int) bit;
        }
        List<String> v4 = o.strings("conditionsV4");
        List<String> v6 = o.strings("conditionsV6");
        c.conditionsV4Text = String.join(" ", v4).trim();
        c.conditionsV6Text = String.join(" ", v6).trim();
        c.conditionsV4 = conditions(c.conditionsV4Text, true);
        c.conditionsV6 = conditions(c.conditionsV6Text, false);

        ConfigObject rc = o.object("runtimeConfig");
        if (rc != null && rc.has("portMappings")) {
            c.mappingsGiven = true;
            for (ConfigObject m : rc.objects("portMappings")) {
                c.mappings.add(mapping(m));
            }
        }
        return c;
    }

    private static Mapping mapping(ConfigObject m) throws CniError {
        long host = m.integer("hostPort", 0, Long.MIN_VALUE, Long.MAX_VALUE);
        if (host <= 0 || host > 65535) {
            throw CniError.invalidConfig("Invalid host port number: " + host);
        }
        long container = m.integer("containerPort", 0, Long.MIN_VALUE, Long.MAX_VALUE);
        if (container <= 0 || container > 65535) {
            throw CniError.invalidConfig("Invalid container port number: " + container);
        }
        String proto = m.string("protocol", "tcp").toLowerCase(Locale.ROOT);
        int p = switch (proto) {
            case "", "tcp" -> 6;
            case "udp" -> 17;
            case "sctp" -> 132;
            default -> throw CniError.invalidConfig(m.path() + ".protocol: unknown protocol \"" + proto + "\" (tcp, udp or sctp)");
        };
        IpAddress hostIP = m.ip("hostIP");
        if (hostIP != null && hostIP.equals(IpAddress.parse(hostIP.isV4() ? "0.0.0.0" : "::"))) {
            hostIP = null; // the unspecified address means every address, as in the reference
        }
        return new Mapping((int) host, (int) container, p, hostIP);
    }

    /**
     * The supported subset of nft syntax: {@code ip|ip6 saddr|daddr [!=] ADDRESS[/LEN]} and
     * {@code iifname|oifname [!=] NAME} (exact names, optionally in double quotes), any number,
     * all of which must match. Anything else is refused with code 2, naming the token.
     */
    static UnaryOperator<Rule> conditions(String text, boolean v4) throws CniError {
        String where = v4 ? "conditionsV4" : "conditionsV6";
        String[] t = text.isEmpty() ? new String[0] : text.split("\\s+");
        List<UnaryOperator<Rule>> parts = new ArrayList<>();
        int i = 0;
        while (i < t.length) {
            String tok = t[i];
            if (tok.equals("ip") || tok.equals("ip6")) {
                if (tok.equals("ip") != v4) {
                    throw unsupported(where, tok, "a condition of the other family");
                }
                String field = i + 1 < t.length ? t[i + 1] : "";
                if (!field.equals("saddr") && !field.equals("daddr")) {
                    throw unsupported(where, field.isEmpty() ? tok : field, "expected saddr or daddr after " + tok);
                }
                i += 2;
                boolean neg = i < t.length && t[i].equals("!=");
                if (neg) {
                    i++;
                }
                String value = i < t.length ? t[i++] : "";
                IpPrefix prefix;
                try {
                    prefix = value.contains("/") ? IpPrefix.parse(value) : IpPrefix.host(IpAddress.parse(value));
                } catch (IllegalArgumentException e) {
                    throw unsupported(where, value, "expected an address or prefix");
                }
                if (prefix.isV4() != v4) {
                    throw unsupported(where, value, "an address of the other family");
                }
                Rule.Field f = v4 ? (field.equals("saddr") ? Rule.Field.IP_SADDR : Rule.Field.IP_DADDR)
                        : (field.equals("saddr") ? Rule.Field.IP6_SADDR : Rule.Field.IP6_DADDR);
                parts.add(neg ? r -> r.isNot(f, prefix) : r -> r.is(f, prefix));
            } else if (tok.equals("iifname") || tok.equals("oifname")) {
                i++;
                boolean neg = i < t.length && t[i].equals("!=");
                if (neg) {
                    i++;
                }
                String value = i < t.length ? t[i++] : "";
                if (value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"")) {
                    value = value.substring(1, value.length() - 1);
                }
                if (value.isEmpty() || value.getBytes(StandardCharsets.UTF_8).length > 15
                        || value.contains("*") || value.contains("\"") || value.contains("{")) {
                    throw unsupported(where, value.isEmpty() ? tok : value, "expected an exact interface name");
                }
                String name = value;
                boolean in = tok.equals("iifname");
                parts.add(r -> in ? r.iifname(name, neg) : r.oifname(name, neg));
            } else {
                throw unsupported(where, tok, null);
            }
        }
        return r -> {
            for (UnaryOperator<Rule> p : parts) {
                r = p.apply(r);
            }
            return r;
        };
    }

    private static CniError unsupported(String where, String token, String why) {
        return new CniError(CniError.UNSUPPORTED_FIELD, "unsupported field",
                where + ": unsupported token \"" + token + "\"" + (why == null ? "" : " (" + why + ")")
                        + "; jcni-portmap understands: ip|ip6 saddr|daddr [!=] ADDRESS[/LEN], iifname|oifname [!=] NAME");
    }

    static int family(IpAddress a) {
        return a.isV4() ? Nftables.IP : Nftables.IP6;
    }
}
