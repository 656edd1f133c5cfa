package io.jcni.cli.inspect;

import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.route.Address;
import io.jcni.netlink.route.Link;
import io.jcni.netlink.route.Route;
import io.jcni.netlink.route.Rtnl;
import io.jcni.runtime.CachedAttachment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code jcni graph}: the node as a picture, in layers from the outside world down to the pods —
 * what lies beyond the node (its default gateway, the peer nodes of the cluster network, namespaces
 * at the other end of routed veths), the node's interfaces that carry traffic out (the cluster
 * uplink, the VXLAN device), the node's routing with its masquerade, the bridges, the host veths,
 * and the pods with their addresses and host ports. Laid out here (a simple layered layout: pods
 * under their veths, veths under their bridge) and written as SVG or as Graphviz dot.
 */
public final class Graph {
    /** One box: its layer (0 = outside, 5 = pods), its kind (for colours), a title and detail lines. */
    record Box(String id, int layer, String kind, String title, List<String> lines) {}

    /** A line between two boxes, with a label; {@code style} is "solid", "dashed" or "nat". */
    record Edge(String from, String to, String label, String style) {}

    static final int OUTSIDE = 0, INTERFACES = 1, ROUTING = 2, BRIDGES = 3, VETHS = 4, PODS = 5;
    private static final String[] LAYER_NAMES = {
        "outside the node", "node interfaces", "routing", "bridges", "host veths", "pods"
    };

    private final Map<String, Box> boxes = new LinkedHashMap<>();
    private final List<Edge> edges = new ArrayList<>();
    private final String title;

    private Graph(String title) {
        this.title = title;
    }

    public static Graph of(NodeView v) {
        Graph g = new Graph("jcni node " + v.node().label());
        g.build(v);
        return g;
    }

    private void box(String id, int layer, String kind, String title, List<String> lines) {
        boxes.putIfAbsent(id, new Box(id, layer, kind, title, lines));
    }

    private void edge(String from, String to, String label, String style) {
        if (boxes.containsKey(from) && boxes.containsKey(to)) {
            edges.add(new Edge(from, to, label, style));
        }
    }

    private void build(NodeView v) {
        CniState cni = v.cni();
        Set<String> bridges = new java.util.LinkedHashSet<>();
        for (CniState.Network n : cni.networks()) {
            if (n.bridge() != null && v.link(n.bridge()) != null) {
                bridges.add(n.bridge());
            }
        }
        for (NodeView.LinkInfo l : v.links()) {
            if ("bridge".equals(l.link().kind())
                    && v.links().stream()
                            .anyMatch(p -> l.name().equals(p.master())
                                    && "veth".equals(p.link().kind()))) {
                bridges.add(l.name());
            }
        }
        // bridges, their veths and pods
        Set<String> seenPods = new HashSet<>();
        for (String b : bridges) {
            NodeView.LinkInfo br = v.link(b);
            List<String> lines = new ArrayList<>();
            for (Address a : v.addressesOf(b)) {
                if (a.scope() == Rtnl.RT_SCOPE_UNIVERSE) {
                    lines.add(a.prefix().toString());
                }
            }
            lines.add("mtu " + br.link().mtu() + "  " + br.link().operStateName());
            List<String> nets = cni.networks().stream()
                    .filter(n -> b.equals(n.bridge()))
                    .map(CniState.Network::name)
                    .toList();
            if (!nets.isEmpty()) {
                lines.add("network " + String.join(", ", nets));
            }
            box("br:" + b, BRIDGES, "bridge", "bridge " + b, lines);
            for (NodeView.LinkInfo l : v.links()) {
                if (!b.equals(l.master()) || !"veth".equals(l.link().kind())) {
                    continue;
                }
                Link link = l.link();
                box(
                        "veth:" + l.name(),
                        VETHS,
                        "veth",
                        "veth " + l.name(),
                        List.of(
                                "mtu " + link.mtu() + "  " + link.operStateName(),
                                link.mac() == null ? "" : link.mac().toString()));
                edge("veth:" + l.name(), "br:" + b, "port", "solid");
                NodeView.Peer p = l.peer();
                if (p != null && p.netnsId() >= 0) {
                    String podId = podBox(v, p, seenPods);
                    edge(podId, "veth:" + l.name(), "veth pair", "solid");
                }
            }
        }
        // cached pods without a veth on a bridge
        for (CachedAttachment a : cni.attachments()) {
            Owners.Id id = CniState.idOf(a);
            if (seenPods.contains(id.toString())) {
                continue;
            }
            List<String> lines = new ArrayList<>();
            for (IpPrefix ip : CniState.cachedAddresses(a)) {
                lines.add(a.ifName() + " " + ip);
            }
            boolean alive = !a.netns().isEmpty() && java.nio.file.Files.exists(java.nio.file.Path.of(a.netns()));
            lines.add(alive ? "no host veth found" : "namespace gone");
            lines.add("network " + a.networkName());
            box("pod:" + id, PODS, "broken", "pod " + CniState.podName(a.containerId(), a.netns()), lines);
        }
        // the routing between bridges and the interfaces out, with masquerade
        String fwd = v.forwarding().get("net.ipv4.ip_forward");
        List<String> routing = new ArrayList<>();
        routing.add("ip_forward=" + (fwd == null ? "?" : fwd));
        for (String t : v.nft().masquerading()) {
            routing.add("masquerade: nft " + t + (t.equals("inet " + NftState.HOSTPORT_TABLE) ? " (hairpin)" : ""));
        }
        box("routing", ROUTING, "routing", "node routing", routing);
        for (String b : bridges) {
            String label = natLabel(v, b);
            edge("br:" + b, "routing", label == null ? "routed" : label, label == null ? "solid" : "nat");
        }
        // interfaces out, with the routes through each
        NodeView.Uplink up = v.uplink();
        Map<String, List<String>> routesVia = new LinkedHashMap<>();
        for (Route r : v.routes()) {
            if (r.device() == null || bridges.contains(r.device()) || r.device().equals("lo") || !r.isV4()) {
                continue;
            }
            NodeView.LinkInfo l = v.link(r.device());
            if (l == null || l.master() != null) {
                continue;
            }
            routesVia
                    .computeIfAbsent(r.device(), k -> new ArrayList<>())
                    .add(Text.dst(r)
                            + (r.gateway() == null ? "" : " via " + r.gateway())
                            + (r.protocol() == NodeView.AGENT_ROUTE_PROTOCOL ? " (proto 215)" : ""));
        }
        if (up != null) {
            routesVia.putIfAbsent(up.name(), new ArrayList<>());
        }
        for (Map.Entry<String, List<String>> e : routesVia.entrySet()) {
            String dev = e.getKey();
            NodeView.LinkInfo l = v.link(dev);
            List<String> lines = new ArrayList<>();
            for (Address a : v.addressesOf(dev)) {
                if (a.scope() == Rtnl.RT_SCOPE_UNIVERSE && a.prefix().isV4()) {
                    lines.add(a.prefix().toString());
                }
            }
            lines.add("mtu " + l.link().mtu()
                    + (l.link().mac() == null ? "" : "  " + l.link().mac()));
            boolean isUp = up != null && up.name().equals(dev);
            if (isUp) {
                lines.add("cluster interface (" + up.source() + ")");
            }
            String kind = isUp ? "uplink" : NodeView.isVxlanDevice(l.link()) ? "vxlan" : "interface";
            box("if:" + dev, INTERFACES, kind, (NodeView.isVxlanDevice(l.link()) ? "vxlan " : "") + dev, lines);
            List<String> rs = e.getValue().stream()
                    .filter(x -> !x.contains("(proto 215)"))
                    .toList();
            String label = rs.isEmpty()
                    ? ""
                    : rs.size() <= 2 ? String.join("; ", rs) : rs.get(0) + "; +" + (rs.size() - 1) + " routes";
            edge("routing", "if:" + dev, label, "solid");
            if (l.peer() != null && l.peer().netnsId() >= 0 && l.master() == null) {
                List<String> pl = new ArrayList<>();
                for (IpPrefix a : l.peer().addresses()) {
                    pl.add(Text.nz(l.peer().name()) + " " + a);
                }
                String ns = l.peer().netns() == null
                        ? "netnsid " + l.peer().netnsId()
                        : l.peer().netns();
                box("ns:" + ns, OUTSIDE, "outside", "netns " + shortNetns(ns), pl);
                edge("if:" + dev, "ns:" + ns, "veth pair", "solid");
            }
        }
        for (Route r : v.routes()) {
            if (r.isDefault() && r.isV4() && r.gateway() != null && r.device() != null) {
                box(
                        "gw",
                        OUTSIDE,
                        "outside",
                        "default gateway",
                        List.of(r.gateway().toString()));
                edge("if:" + r.device(), "gw", "default", "solid");
                break;
            }
        }
        for (NodeView.ClusterPeer p : v.peers()) {
            String id = "peer:" + p.subnet() + p.via();
            List<String> lines = new ArrayList<>();
            lines.add("pods " + Text.nz(p.subnet()));
            if (p.remote() != null) {
                lines.add("node " + p.remote());
            } else if (p.via() != null && (p.dev() == null || !p.dev().startsWith("jcni."))) {
                lines.add("node " + p.via());
            }
            if (p.vtepMac() != null) {
                lines.add("VTEP " + p.vtepMac());
            }
            box(id, OUTSIDE, p.route() ? "peer" : "broken", "peer node", lines);
            String from = p.dev() != null && boxes.containsKey("if:" + p.dev())
                    ? "if:" + p.dev()
                    : up == null ? null : "if:" + up.name();
            if (from != null) {
                edge(from, id, p.route() ? "route proto 215" : "NO ROUTE", p.route() ? "solid" : "dashed");
            }
        }
    }

    private String podBox(NodeView v, NodeView.Peer p, Set<String> seen) {
        CachedAttachment a = p.attachment() == null ? null : v.cni().attachment(p.attachment());
        String key = p.attachment() != null ? p.attachment().toString() : String.valueOf(p.netns());
        seen.add(key);
        List<String> lines = new ArrayList<>();
        List<IpPrefix> ips = a != null ? CniState.cachedAddresses(a) : p.addresses();
        if (ips.isEmpty()) {
            ips = p.addresses();
        }
        for (IpPrefix ip : ips) {
            lines.add(Text.nz(p.name()) + " " + ip);
        }
        if (ips.isEmpty()) {
            lines.add(Text.nz(p.name()));
        }
        if (p.netns() != null) {
            lines.add("netns " + shortNetns(p.netns()));
        }
        if (p.attachment() != null) {
            lines.add("network " + p.attachment().network());
            String owner = p.attachment().portmapComment();
            for (NftState.Mapping m : v.nft().mappings()) {
                if (owner.equals(m.owner())) {
                    lines.add("hostPort " + m.protocol() + " " + (m.hostIp() == null ? "" : m.hostIp() + ":")
                            + m.hostPort() + " -> " + m.targetPort());
                }
            }
        }
        String name = p.pod() != null ? p.pod() : p.netns() != null ? shortNetns(p.netns()) : "netnsid " + p.netnsId();
        box("pod:" + key, PODS, "pod", "pod " + name, lines);
        return "pod:" + key;
    }

    private static String shortNetns(String path) {
        return path.startsWith("/run/netns/") ? path.substring("/run/netns/".length()) : path;
    }

    /** The NAT edge's label for a bridge: jcni's masquerade of its networks' pods, or another table's masquerade. */
    private static String natLabel(NodeView v, String bridge) {
        int pods = 0;
        boolean jcni = false;
        for (CniState.Network n : v.cni().networks()) {
            if (bridge.equals(n.bridge()) && n.ipMasq() && n.jcniBridge()) {
                jcni = true;
                for (NftState.MasqElement m : v.nft().masq()) {
                    if (m.set().startsWith("pods") && n.name().equals(Owners.networkTagOf(m.owner()))) {
                        pods++;
                    }
                }
            }
        }
        if (jcni) {
            return "NAT: masquerade " + pods + " pod address" + (pods == 1 ? "" : "es") + " (inet jcni)";
        }
        boolean agentBridge = v.clustered()
                && v.cni().networks().stream()
                        .anyMatch(n -> bridge.equals(n.bridge()) && n.name().equals("jcni"));
        if (agentBridge && v.nft().masquerading().contains("inet " + NftState.CLUSTER_TABLE)) {
            return "NAT: masquerade leaving the cluster (inet " + NftState.CLUSTER_TABLE + ")";
        }
        for (String t : v.nft().masquerading()) {
            if (!t.startsWith("inet jcni")) {
                return "NAT: masquerade (" + t + ")"; // not a table of jcni's plugins or agent, e.g. the demo's
            }
        }
        return null;
    }

    // ------------------------------------------------------------------ layout

    static final int BOX_W = 230, LINE_H = 15, PAD = 8, GAP_X = 30, GAP_Y = 70, MARGIN = 30, TITLE_H = 40;

    /** x, y, height of each box: one column per pod and veth, bridges over their ports, the rest spread over their layer. */
    Map<String, int[]> layout() {
        Map<String, int[]> pos = new HashMap<>();
        Map<Integer, List<Box>> layers = new HashMap<>();
        for (Box b : boxes.values()) {
            layers.computeIfAbsent(b.layer(), k -> new ArrayList<>()).add(b);
        }
        Map<String, Double> x = new HashMap<>();
        // columns: veths (in bridge order) and their pods
        int col = 0;
        for (Box b : layers.getOrDefault(VETHS, List.of())) {
            x.put(b.id(), (double) col++);
        }
        for (Box b : layers.getOrDefault(PODS, List.of())) {
            Edge e = edges.stream()
                    .filter(ed -> ed.from().equals(b.id()) && x.containsKey(ed.to()))
                    .findFirst()
                    .orElse(null);
            x.put(b.id(), e != null ? x.get(e.to()) : (double) col++);
        }
        for (Box b : layers.getOrDefault(BRIDGES, List.of())) {
            double[] s = {0, 0};
            edges.stream()
                    .filter(ed -> ed.to().equals(b.id()) && x.containsKey(ed.from()))
                    .forEach(ed -> {
                        s[0] += x.get(ed.from());
                        s[1]++;
                    });
            x.put(b.id(), s[1] > 0 ? s[0] / s[1] : (double) col++);
        }
        int columns = Math.max(1, col);
        double centre = (columns - 1) / 2.0;
        List<Box> bridgeBoxes = layers.getOrDefault(BRIDGES, List.of());
        if (!bridgeBoxes.isEmpty()) {
            centre = bridgeBoxes.stream()
                    .mapToDouble(b -> x.get(b.id()))
                    .average()
                    .orElse(centre);
        }
        for (Box b : layers.getOrDefault(ROUTING, List.of())) {
            x.put(b.id(), centre);
        }
        List<Box> ifs = layers.getOrDefault(INTERFACES, List.of());
        for (int i = 0; i < ifs.size(); i++) {
            x.put(ifs.get(i).id(), centre - (ifs.size() - 1) / 2.0 + i);
        }
        List<Box> outside = layers.getOrDefault(OUTSIDE, List.of());
        int free = 0;
        for (Box b : outside) {
            double[] s = {0, 0};
            edges.stream()
                    .filter(ed -> ed.from().equals(b.id()) || ed.to().equals(b.id()))
                    .forEach(ed -> {
                        String other = ed.from().equals(b.id()) ? ed.to() : ed.from();
                        if (x.containsKey(other)) {
                            s[0] += x.get(other);
                            s[1]++;
                        }
                    });
            x.put(b.id(), s[1] > 0 ? s[0] / s[1] : centre + free++);
        }
        // keep boxes of a layer at least one column apart, then shift everything right of the margin
        double min = Double.MAX_VALUE;
        for (List<Box> l : layers.values()) {
            List<Box> sorted = new ArrayList<>(l);
            sorted.sort((a, b) -> Double.compare(x.get(a.id()), x.get(b.id())));
            for (int i = 1; i < sorted.size(); i++) {
                double prev = x.get(sorted.get(i - 1).id());
                if (x.get(sorted.get(i).id()) < prev + 1) {
                    x.put(sorted.get(i).id(), prev + 1);
                }
            }
            for (Box b : l) {
                min = Math.min(min, x.get(b.id()));
            }
        }
        int y = MARGIN + TITLE_H;
        for (int layer = OUTSIDE; layer <= PODS; layer++) {
            List<Box> l = layers.getOrDefault(layer, List.of());
            if (l.isEmpty()) {
                continue;
            }
            int h = 0;
            for (Box b : l) {
                h = Math.max(h, height(b));
            }
            for (Box b : l) {
                pos.put(b.id(), new int[] {
                    MARGIN + 110 + (int) Math.round((x.get(b.id()) - min) * (BOX_W + GAP_X)), y, height(b)
                });
            }
            pos.put("layer:" + layer, new int[] {MARGIN, y, h});
            y += h + GAP_Y;
        }
        return pos;
    }

    static int height(Box b) {
        return PAD * 2
                + LINE_H
                        * (1
                                + (int) b.lines().stream()
                                        .filter(s -> !s.isEmpty())
                                        .count());
    }

    // ------------------------------------------------------------------ SVG

    private static final Map<String, String[]> COLOURS = Map.of( // fill, stroke
            "pod",
            new String[] {"#e8f4ea", "#2e7d32"},
            "veth",
            new String[] {"#f3f3f3", "#757575"},
            "bridge",
            new String[] {"#e3f2fd", "#1565c0"},
            "routing",
            new String[] {"#fff8e1", "#f9a825"},
            "uplink",
            new String[] {"#ede7f6", "#5e35b1"},
            "vxlan",
            new String[] {"#ede7f6", "#5e35b1"},
            "interface",
            new String[] {"#f3e5f5", "#8e24aa"},
            "outside",
            new String[] {"#fafafa", "#9e9e9e"},
            "peer",
            new String[] {"#e0f7fa", "#00838f"},
            "broken",
            new String[] {"#ffebee", "#c62828"});

    public String svg() {
        Map<String, int[]> pos = layout();
        int width = 0, height = 0;
        for (Map.Entry<String, int[]> e : pos.entrySet()) {
            int[] p = e.getValue();
            width = Math.max(width, p[0] + BOX_W);
            height = Math.max(height, p[1] + p[2]);
        }
        width += MARGIN;
        height += MARGIN;
        StringBuilder s = new StringBuilder();
        s.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        s.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"")
                .append(width)
                .append("\" height=\"")
                .append(height)
                .append("\" viewBox=\"0 0 ")
                .append(width)
                .append(' ')
                .append(height)
                .append("\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n");
        s.append("<title>").append(esc(title)).append("</title>\n");
        s.append("<rect x=\"0\" y=\"0\" width=\"")
                .append(width)
                .append("\" height=\"")
                .append(height)
                .append("\" fill=\"#ffffff\"/>\n");
        s.append("<text x=\"")
                .append(MARGIN)
                .append("\" y=\"")
                .append(MARGIN + 12)
                .append("\" font-size=\"16\" font-weight=\"bold\">")
                .append(esc(title))
                .append("</text>\n");
        for (int layer = OUTSIDE; layer <= PODS; layer++) {
            int[] p = pos.get("layer:" + layer);
            if (p != null) {
                s.append("<text x=\"")
                        .append(p[0])
                        .append("\" y=\"")
                        .append(p[1] + 16)
                        .append("\" fill=\"#9e9e9e\" font-style=\"italic\">")
                        .append(esc(LAYER_NAMES[layer]))
                        .append("</text>\n");
            }
        }
        for (Edge e : edges) {
            int[] a = pos.get(e.from()), b = pos.get(e.to());
            int x1 = a[0] + BOX_W / 2, x2 = b[0] + BOX_W / 2;
            boolean down = a[1] < b[1];
            int y1 = down ? a[1] + a[2] : a[1], y2 = down ? b[1] : b[1] + b[2];
            int my = (y1 + y2) / 2;
            String colour = e.style().equals("nat") ? "#c62828" : e.style().equals("dashed") ? "#c62828" : "#616161";
            s.append("<path d=\"M ")
                    .append(x1)
                    .append(' ')
                    .append(y1)
                    .append(" C ")
                    .append(x1)
                    .append(' ')
                    .append(my)
                    .append(", ")
                    .append(x2)
                    .append(' ')
                    .append(my)
                    .append(", ")
                    .append(x2)
                    .append(' ')
                    .append(y2)
                    .append("\" fill=\"none\" stroke=\"")
                    .append(colour)
                    .append("\" stroke-width=\"")
                    .append(e.style().equals("nat") ? "2.5" : "1.5")
                    .append('"')
                    .append(e.style().equals("solid") ? "" : " stroke-dasharray=\"6 4\"")
                    .append("/>\n");
            if (!e.label().isEmpty()) {
                // on the curve a third of the way from its upper end, where edges that meet below are still apart
                double t = y1 < y2 ? 0.35 : 0.65, u = 1 - t;
                int lx = (int) Math.round(u * u * u * x1 + 3 * u * u * t * x1 + 3 * u * t * t * x2 + t * t * t * x2);
                int ly =
                        (int) Math.round(u * u * u * y1 + 3 * u * u * t * my + 3 * u * t * t * my + t * t * t * y2) + 4;
                int w = Math.min(e.label().length() * 6 + 8, 2 * BOX_W);
                s.append("<rect x=\"")
                        .append(lx - w / 2)
                        .append("\" y=\"")
                        .append(ly - 11)
                        .append("\" width=\"")
                        .append(w)
                        .append("\" height=\"15\" rx=\"3\" fill=\"#ffffff\" fill-opacity=\"0.9\"/>\n");
                s.append("<text x=\"")
                        .append(lx)
                        .append("\" y=\"")
                        .append(ly)
                        .append("\" text-anchor=\"middle\" font-size=\"10\" fill=\"")
                        .append(colour)
                        .append("\">")
                        .append(esc(e.label()))
                        .append("</text>\n");
            }
        }
        for (Box b : boxes.values()) {
            int[] p = pos.get(b.id());
            String[] c = COLOURS.getOrDefault(b.kind(), COLOURS.get("veth"));
            s.append("<g id=\"").append(esc(b.id())).append("\">\n");
            s.append("<rect x=\"")
                    .append(p[0])
                    .append("\" y=\"")
                    .append(p[1])
                    .append("\" width=\"")
                    .append(BOX_W)
                    .append("\" height=\"")
                    .append(p[2])
                    .append("\" rx=\"6\" fill=\"")
                    .append(c[0])
                    .append("\" stroke=\"")
                    .append(c[1])
                    .append("\" stroke-width=\"1.5\"/>\n");
            int ty = p[1] + PAD + 11;
            s.append("<text x=\"")
                    .append(p[0] + PAD)
                    .append("\" y=\"")
                    .append(ty)
                    .append("\" font-weight=\"bold\" fill=\"")
                    .append(c[1])
                    .append("\">")
                    .append(esc(b.title()))
                    .append("</text>\n");
            for (String line : b.lines()) {
                if (line.isEmpty()) {
                    continue;
                }
                ty += LINE_H;
                s.append("<text x=\"")
                        .append(p[0] + PAD)
                        .append("\" y=\"")
                        .append(ty)
                        .append("\">")
                        .append(esc(fit(line)))
                        .append("</text>\n");
            }
            s.append("</g>\n");
        }
        s.append("</svg>\n");
        return s.toString();
    }

    private static String fit(String line) {
        int max = (BOX_W - 2 * PAD) / 6;
        return line.length() <= max ? line : line.substring(0, max - 1) + "…";
    }

    static String esc(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (char ch : s.toCharArray()) {
            switch (ch) {
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '&' -> b.append("&amp;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&apos;");
                default -> {
                    if (ch >= 0x20 || ch == '\t') {
                        b.append(ch);
                    }
                }
            }
        }
        return b.toString();
    }

    // ------------------------------------------------------------------ dot

    public String dot() {
        StringBuilder s = new StringBuilder();
        s.append("digraph jcni {\n");
        s.append("  label=")
                .append(q(title))
                .append(
                        ";\n  labelloc=t;\n  rankdir=TB;\n  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\"];\n");
        s.append("  edge [dir=none, fontname=\"Helvetica\", fontsize=10];\n");
        for (int layer = OUTSIDE; layer <= PODS; layer++) {
            List<Box> l = new ArrayList<>();
            for (Box b : boxes.values()) {
                if (b.layer() == layer) {
                    l.add(b);
                }
            }
            if (l.isEmpty()) {
                continue;
            }
            s.append("  { rank=same; // ").append(LAYER_NAMES[layer]).append('\n');
            for (Box b : l) {
                String[] c = COLOURS.getOrDefault(b.kind(), COLOURS.get("veth"));
                StringBuilder label = new StringBuilder(b.title());
                for (String line : b.lines()) {
                    if (!line.isEmpty()) {
                        label.append('\n').append(line);
                    }
                }
                s.append("    ")
                        .append(q(b.id()))
                        .append(" [label=")
                        .append(q(label.toString()))
                        .append(", fillcolor=")
                        .append(q(c[0]))
                        .append(", color=")
                        .append(q(c[1]))
                        .append("];\n");
            }
            s.append("  }\n");
        }
        for (Edge e : edges) {
            Box a = boxes.get(e.from()), b = boxes.get(e.to());
            boolean down = a.layer() <= b.layer();
            s.append("  ")
                    .append(q(down ? e.from() : e.to()))
                    .append(" -> ")
                    .append(q(down ? e.to() : e.from()))
                    .append(" [label=")
                    .append(q(e.label()));
            if (!e.style().equals("solid")) {
                s.append(", style=dashed, color=\"#c62828\"");
            }
            s.append("];\n");
        }
        s.append("}\n");
        return s.toString();
    }

    private static String q(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"";
    }

    /** The graph itself, for tools that draw their own: boxes by layer, edges with their labels. */
    public Map<String, Object> json() {
        return J.obj(
                "title",
                title,
                "boxes",
                J.list(
                        new ArrayList<>(boxes.values()),
                        b -> J.obj(
                                "id",
                                b.id(),
                                "layer",
                                LAYER_NAMES[b.layer()],
                                "kind",
                                b.kind(),
                                "title",
                                b.title(),
                                "lines",
                                new ArrayList<Object>(b.lines().stream()
                                        .filter(l -> !l.isEmpty())
                                        .toList()))),
                "edges",
                J.list(edges, e -> J.obj("from", e.from(), "to", e.to(), "label", e.label(), "style", e.style())));
    }
}
