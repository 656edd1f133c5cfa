package io.jcni.plugins.portmap;

import io.jcni.cni.CniError;
import io.jcni.cni.ConfigObject;
import io.jcni.cni.Invocation;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
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

        /** Whether this mapping applies to container addresses of the family of {@code container}. */
        boolean appliesTo(IpAddress container) {
            return hostIP == null || hostIP.isV4() == container.isV4();
        }

        @Override
        public String toString() {
            return (hostIP == null ? "" : hostIP.isV4() ? hostIP + ":" : "[" + hostIP + "]:") + hostPort + "/"
                    + protocolName() + " -> " + containerPort;
        }
    }

    boolean snat = true;
    boolean masqAll;
    Integer markMasqBit;
    List<Mapping> mappings = new ArrayList<>();
    /** Whether runtimeConfig.portMappings was given at all (DEL falls back to a search without it). */
    boolean mappingsGiven;
    /** conditionsV4 and conditionsV6 as rule builders: each adds its matches to the entry rule of its family. */
    UnaryOperator<Rule> conditionsV4 = UnaryOperator.identity(), conditionsV6 = UnaryOperator.identity();

    static PortmapConfig parse(Invocation inv) throws CniError {
        ConfigObject options = inv.config();
        PortmapConfig config = new PortmapConfig();
        config.snat = options.bool("snat", true);
        config.masqAll = options.bool("masqAll", false);
        String backend = options.string("backend", "");
        if (backend.equals("iptables")) {
            throw new CniError(
                    CniError.UNSUPPORTED_FIELD,
                    "unsupported field",
                    "backend \"iptables\": jcni-portmap works with nftables only");
        }
        if (!backend.isEmpty() && !backend.equals("nftables")) {
            throw CniError.invalidConfig("unrecognized backend \"" + backend + "\"");
        }
        if (options.has("externalSetMarkChain")) {
            throw new CniError(
                    CniError.UNSUPPORTED_FIELD,
                    "unsupported field",
                    "externalSetMarkChain is iptables-only; jcni-portmap works with nftables");
        }
        if (options.has("markMasqBit")) {
            long bit = options.integer("markMasqBit", 13, Long.MIN_VALUE, Long.MAX_VALUE);
            if (bit < 0 || bit > 31) {
                throw CniError.invalidConfig("MasqMarkBit must be between 0 and 31");
            }
            config.markMasqBit = (int) bit;
        }
        config.conditionsV4 =
                conditions(String.join(" ", options.strings("conditionsV4")).trim(), true);
        config.conditionsV6 =
                conditions(String.join(" ", options.strings("conditionsV6")).trim(), false);

        ConfigObject runtimeConfig = options.object("runtimeConfig");
        if (runtimeConfig != null && runtimeConfig.has("portMappings")) {
            config.mappingsGiven = true;
            for (ConfigObject entry : runtimeConfig.objects("portMappings")) {
                config.mappings.add(mapping(entry));
            }
        }
        return config;
    }

    private static Mapping mapping(ConfigObject entry) throws CniError {
        long host = entry.integer("hostPort", 0, Long.MIN_VALUE, Long.MAX_VALUE);
        if (host <= 0 || host > 65535) {
            throw CniError.invalidConfig("Invalid host port number: " + host);
        }
        long container = entry.integer("containerPort", 0, Long.MIN_VALUE, Long.MAX_VALUE);
        if (container <= 0 || container > 65535) {
            throw CniError.invalidConfig("Invalid container port number: " + container);
        }
        String proto = entry.string("protocol", "tcp").toLowerCase(Locale.ROOT);
        int protocol = switch (proto) {
            case "", "tcp" -> 6;
            case "udp" -> 17;
            case "sctp" -> 132;
            default ->
                throw CniError.invalidConfig(
                        entry.path() + ".protocol: unknown protocol \"" + proto + "\" (tcp, udp or sctp)");
        };
        IpAddress hostIP = entry.ip("hostIP");
        if (hostIP != null && hostIP.equals(IpAddress.parse(hostIP.isV4() ? "0.0.0.0" : "::"))) {
            hostIP = null; // the unspecified address means every address, as in the reference
        }
        return new Mapping((int) host, (int) container, protocol, hostIP);
    }

    /**
     * The supported subset of nft syntax: {@code ip|ip6 saddr|daddr [!=] ADDRESS[/LEN]} and
     * {@code iifname|oifname [!=] NAME} (exact names, optionally in double quotes), any number,
     * all of which must match. Anything else is refused with code 2, naming the token.
     */
    static UnaryOperator<Rule> conditions(String text, boolean v4) throws CniError {
        String where = v4 ? "conditionsV4" : "conditionsV6";
        String[] tokens = text.isEmpty() ? new String[0] : text.split("\\s+");
        List<UnaryOperator<Rule>> parts = new ArrayList<>();
        int next = 0;
        while (next < tokens.length) {
            String tok = tokens[next];
            if (tok.equals("ip") || tok.equals("ip6")) {
                if (tok.equals("ip") != v4) {
                    throw unsupported(where, tok, "a condition of the other family");
                }
                String field = next + 1 < tokens.length ? tokens[next + 1] : "";
                if (!field.equals("saddr") && !field.equals("daddr")) {
                    throw unsupported(where, field.isEmpty() ? tok : field, "expected saddr or daddr after " + tok);
                }
                next += 2;
                boolean neg = next < tokens.length && tokens[next].equals("!=");
                if (neg) {
                    next++;
                }
                String value = next < tokens.length ? tokens[next++] : "";
                IpPrefix prefix;
                try {
                    prefix = value.contains("/") ? IpPrefix.parse(value) : IpPrefix.host(IpAddress.parse(value));
                } catch (IllegalArgumentException notAnAddress) {
                    throw unsupported(where, value, "expected an address or prefix");
                }
                if (prefix.isV4() != v4) {
                    throw unsupported(where, value, "an address of the other family");
                }
                Rule.Field matched = v4
                        ? (field.equals("saddr") ? Rule.Field.IP_SADDR : Rule.Field.IP_DADDR)
                        : (field.equals("saddr") ? Rule.Field.IP6_SADDR : Rule.Field.IP6_DADDR);
                parts.add(neg ? rule -> rule.isNot(matched, prefix) : rule -> rule.is(matched, prefix));
            } else if (tok.equals("iifname") || tok.equals("oifname")) {
                next++;
                boolean neg = next < tokens.length && tokens[next].equals("!=");
                if (neg) {
                    next++;
                }
                String value = next < tokens.length ? tokens[next++] : "";
                if (value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"")) {
                    value = value.substring(1, value.length() - 1);
                }
                if (value.isEmpty()
                        || value.getBytes(StandardCharsets.UTF_8).length > 15
                        || value.contains("*")
                        || value.contains("\"")
                        || value.contains("{")) {
                    throw unsupported(where, value.isEmpty() ? tok : value, "expected an exact interface name");
                }
                String name = value;
                boolean in = tok.equals("iifname");
                parts.add(rule -> in ? rule.iifname(name, neg) : rule.oifname(name, neg));
            } else {
                throw unsupported(where, tok, null);
            }
        }
        return rule -> {
            for (UnaryOperator<Rule> part : parts) {
                rule = part.apply(rule);
            }
            return rule;
        };
    }

    private static CniError unsupported(String where, String token, String why) {
        return new CniError(
                CniError.UNSUPPORTED_FIELD,
                "unsupported field",
                where + ": unsupported token \"" + token + "\"" + (why == null ? "" : " (" + why + ")")
                        + "; jcni-portmap understands: ip|ip6 saddr|daddr [!=] ADDRESS[/LEN], iifname|oifname [!=] NAME");
    }
}
