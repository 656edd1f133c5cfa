#!/usr/bin/env python3
"""Renders bench.py's benchmark.json as a Markdown table (benchmark.md) and an SVG chart (benchmark.svg),
ClusterBench's benchmark-cluster.json, when there is one, as the "Cluster network" section of benchmark.md, and
ClusterScale's benchmark-scale.json, when there is one, as its "Cluster scale" section.
Usage: report.py RESULT_DIR OUT_DIR
Each JSON file is read from RESULT_DIR, else from OUT_DIR; so `report.py docs docs` re-renders benchmark.md from
what is there. Without a benchmark.json, benchmark.md holds the cluster section alone and no SVG is written."""
import json
import math
import os
import statistics
import sys

src, out = sys.argv[1], sys.argv[2]


def find(name):
    for d in (src, out):
        if os.path.exists(os.path.join(d, name)):
            return os.path.join(d, name)
    return None


def cluster_section(c):
    """The cluster benchmark (bench/cluster.sh) as Markdown."""
    s = c["settings"]
    bk = [b for b in ("host-gw", "vxlan") if b in c["backends"]]
    B = c["backends"]

    def f(x, d=2):
        return "—" if x is None else f"{x:.{d}f}"

    def row(label, unit, get, d=2):
        return f"| {label} | {unit} | " + " | ".join(f(get(B[b]), d) for b in bk) + " |"

    def dist(label, key):
        return (f"| {label} | ms | " + " | ".join(
            f"{f(B[b]['convergence'][key]['p50'], 1)} / {f(B[b]['convergence'][key]['p90'], 1)} / "
            f"{f(B[b]['convergence'][key]['max'], 1)}" for b in bk) + " |")

    def med(m):
        return statistics.median(m.values())

    reps = f"median of {s['iperf_repeats']} × {s['iperf_seconds']} s" if s["iperf_repeats"] > 1 else f"{s['iperf_seconds']} s"
    head = "| metric | unit | " + " | ".join(bk) + " |\n|---|---|" + "---:|" * len(bk)
    idle = s["idle_seconds"]
    L = ["## Cluster network", "",
         f"Run of `bench/cluster.sh{' --quick' if c['quick'] else ''}`: {c['cpus']} CPUs, kernel {c['kernel']}, "
         f"{round(c['duration_s'])} s. Load: `{c['uptime_start']}` at the start, `{c['uptime_end']}` at the end.", "",
         f"Per backend, a fresh simulated cluster: {s['nodes']} nodes (network namespaces whose `eth0` share one bridge, "
         f"the underlay), each running `jcni agent` (`{s['agent_jvm_flags']}`, `--ip-masq`), on a {s['etcd_members']}-member "
         f"etcd, with a pod on node 1 and one on node 2 attached by `jcni add` through the agents' plugin socket.", "",
         "**Throughput**: iperf3 TCP from the pod on node 1 to the pod on node 2, against the same two nodes' `eth0` "
         f"on the underlay, interleaved ({reps} each). CPU is what the iperf3 client and server used (iperf3's "
         "`cpu_utilization_percent`, user + system, which holds the softirq work done in their context) plus the "
         "ksoftirqd threads, per Gbit received.", "",
         head,
         row(f"pod→pod TCP throughput (iperf3, {reps})", "Gbit/s", lambda v: v["throughput"]["pod"]["gbps"]),
         row("node→node on the underlay (same nodes' eth0)", "Gbit/s", lambda v: v["throughput"]["underlay"]["gbps"]),
         row("pod / underlay", "×", lambda v: v["throughput"]["ratio_gbps"]),
         row("CPU per Gbit, pod→pod", "CPU ms", lambda v: v["throughput"]["pod"]["cpu_s_per_gbit"] * 1000, 0),
         row("CPU per Gbit, underlay", "CPU ms", lambda v: v["throughput"]["underlay"]["cpu_s_per_gbit"] * 1000, 0),
         row("pod / underlay, CPU per Gbit", "×", lambda v: v["throughput"]["ratio_cpu_s_per_gbit"]),
         row("TCP retransmits per run, pod→pod", "", lambda v: v["throughput"]["pod"]["retransmits"], 0),
         row("TCP retransmits per run, underlay", "", lambda v: v["throughput"]["underlay"]["retransmits"], 0),
         "",
         "The machine-wide busy time of `/proc/stat` per Gbit is in the JSON (`machine_cpu_s_per_gbit`) but says little "
         "on a shared machine: it counts every other job too, and " + " and ".join(
             f"{B[b]['throughput']['background_cpus']:.1f}" for b in bk)
         + f" of the {c['cpus']} CPUs were busy in the 3 s just before the runs.", "",
         "**Convergence**: a lease (flannel's value, a fake node at 198.18.0.200 and up; for vxlan with a VTEP MAC) "
         "written to etcd by a small client in an etcd member's namespace, which notes `System.nanoTime()` when etcd "
         "acknowledges the put; the benchmark polls each node's kernel through netlink every 1 ms until the route "
         "(vxlan: the neighbour, the FDB entry and the route) is there, and after deleting the lease until it is gone. "
         f"{B[bk[0]]['convergence']['samples']} samples per backend, each a new subnet; p50 / p90 / max. The poller itself "
         "used " + " and ".join(f"{100 * (B[b]['convergence'].get('poller_cpu_share') or 0):.0f} %" for b in bk)
         + " of a CPU while polling.", "",
         "| metric | unit | " + " | ".join(f"{b} p50 / p90 / max" for b in bk) + " |\n|---|---|" + "---:|" * len(bk),
         dist(f"etcd put acknowledged ({s['etcd_members']} members)", "put_ack_ms"),
         dist("put acknowledged → programmed on node 1", "to_node1_ms"),
         dist("put acknowledged → programmed on all 3 nodes", "to_all_nodes_ms"),
         dist("the agent's pass on node 1 (its log: \"N changes in X ms\")", "agent_pass_node1_ms"),
         dist("delete acknowledged → gone from all 3 nodes", "removed_all_nodes_ms"),
         ""]
    timeouts = {b: B[b]["convergence"]["timeouts"] for b in bk if B[b]["convergence"]["timeouts"]}
    if timeouts:
        L += [f"Samples that timed out (not programmed within 10 s): {timeouts}.", ""]
    L += [f"**The agent** (median of the 3 agents; a third peer leased for the measurement):", "",
          head,
          row("RSS with 3 peers", "MiB", lambda v: med(v["agent"]["rss_kib"]) / 1024, 1),
          row("of which anonymous (heap, metaspace, code, stacks)", "MiB", lambda v: med(v["agent"]["rss_anon_kib"]) / 1024, 1),
          row(f"CPU time over {idle} s idle", "ms", lambda v: med(v["agent"]["idle_cpu_ms"]), 0),
          row("that is, of one CPU", "%", lambda v: med(v["agent"]["idle_cpu_ms"]) / 10 / v["agent"]["idle_seconds"], 2),
          "",
          "Idle includes the drift check every 10 s. Where node 1's agent spent it, by thread (ms; names cut to 15 "
          "characters by the kernel): " + "; ".join(
              f"{b}: " + ", ".join(f"{t} {ms:.0f}" for t, ms in B[b]["agent"]["idle_cpu_ms_by_thread"]["n1"].items())
              for b in bk) + ". Raw samples: [benchmark-cluster.json](benchmark-cluster.json)."]
    return "\n".join(L) + "\n"


def scale_section(c):
    """The cluster scale benchmark (bench/cluster-scale.sh) as Markdown."""
    bk = [b for b in ("vxlan", "host-gw") if b in c["backends"]]
    B = c["backends"]
    counts = sorted({int(n) for b in bk for n in B[b]}, key=int)
    top = str(counts[-1])

    def f(x, d=1):
        return "—" if x is None else f"{x:.{d}f}"

    def cell(b, get, d=1):
        try:
            return f(get(B[b]), d)
        except (KeyError, TypeError, IndexError):
            return "—"

    def dist(key, b):
        d = B[b][top]["new_lease"][key]
        return f"{f(d['p50'])} / {f(d['p90'])} / {f(d['p99'])} / {f(d['max'])}"

    head = "| metric | unit | goal | " + " | ".join(bk) + " |\n|---|---|---|" + "---:|" * len(bk)
    n = B[bk[0]][top]["new_lease"]["put_ack_to_route_ms"]["n"]
    L = ["## Cluster scale", "",
         f"Run of `bench/cluster-scale.sh`: {c['cpus']} CPUs, {round(c['duration_s'])} s; load average "
         f"`{' '.join(c['load_start'].split()[:3])}` at the start, `{' '.join(c['load_end'].split()[:3])}` at the end (a shared machine: other jobs ran meanwhile).", "",
         "Per backend, a one-member etcd filled by `LeaseWriter fill` with flannel-format leases of fake peers "
         f"(public IPs in 198.19.0.0/16, for vxlan a VTEP MAC each; the network 10.244.0.0/16 in /{c['subnet_len']}s, so that "
         "5000 nodes fit), then one real `jcni agent` "
         f"(`{c['agent_jvm_options']}`) started on a fresh simulated node per count. host-gw needs every peer on a "
         "connected subnet: its node has 198.19.255.254/16 on `eth0` beside its underlay address; vxlan needs nothing of the "
         "kind (the FDB entry names the peer's address, nothing is sent). The benchmark polls the node's kernel through "
         "netlink every 10 ms until every peer's route (vxlan: and its neighbour and FDB entry) is there.", "",
         head]
    for cnt in counts:
        k = str(cnt)
        L.append(f"| {cnt} leases: agent start → all programmed (JVM start, etcd read, one pass) | ms | "
                 + ("≤ 5000" if cnt == counts[-1] else "") + " | "
                 + " | ".join(cell(b, lambda x: x[k]["start_to_all_programmed_ms"], 0) for b in bk) + " |")
        L.append(f"| {cnt} leases: agent start → first route (JVM start, etcd connect, lease, etcd read) | ms |  | "
                 + " | ".join(cell(b, lambda x: x[k]["start_to_first_route_ms"], 0) for b in bk) + " |")
        L.append(f"| {cnt} leases: of which the start-up pass (the agent's log) | ms |  | "
                 + " | ".join(cell(b, lambda x: x[k]["passes"][0]["ms"], 0) for b in bk) + " |")
    L.append(f"| {top} peers: RSS at steady state | MiB | ≤ 128 | "
             + " | ".join(cell(b, lambda x: x[top]["steady"]["rss_kib"] / 1024) for b in bk) + " |")
    idle = B[bk[0]][top]["steady"]["idle_seconds"]
    L.append(f"| {top} peers: CPU over {idle:.0f} s idle (drift check every 10 s included) | ms | ≈ 0 | "
             + " | ".join(cell(b, lambda x: x[top]["steady"]["idle_cpu_ms"], 0) for b in bk) + " |")
    L.append(f"| {top} peers: of which the agent's loop (`jcni-agent`, the drift passes) | ms |  | "
             + " | ".join(cell(b, lambda x: x[top]["steady"]["idle_cpu_ms_by_thread"].get("jcni-agent", 0), 0) for b in bk) + " |")
    L += ["", f"**A new lease with {top} peers present** ({n} samples, each a new subnet put by `LeaseWriter`, deleted again "
          "before the next; the node is polled with `ip route get` through netlink every 0.5 ms: the scale nodes have no "
          "default route, so only the new peer's route answers); p50 / p90 / p99 / max:", "",
          "| metric | unit | goal | " + " | ".join(bk) + " |\n|---|---|---|" + "---:|" * len(bk)]
    for label, key, goal in (("etcd put acknowledged", "etcd_put_ack_ms", ""),
                             ("put acknowledged → route in the kernel", "put_ack_to_route_ms", "p99 ≤ 200"),
                             ("the agent's pass (its log: \"N changes in X ms\")", "agent_pass_ms", ""),
                             ("delete acknowledged → route gone", "delete_ack_to_gone_ms", "")):
        L.append(f"| {label} | ms | {goal} | " + " | ".join(dist(key, b) for b in bk) + " |")
    L += ["", f"Idle CPU by thread at {top} peers (ms over {idle:.0f} s; names cut to 15 characters by the kernel): " + "; ".join(
        f"{b}: " + ", ".join(f"{t} {ms:.0f}" for t, ms in B[b][top]["steady"]["idle_cpu_ms_by_thread"].items()) for b in bk)
          + ". Raw samples: [benchmark-scale.json](benchmark-scale.json); the profile behind the fixes: "
          "[benchmark-notes.md](benchmark-notes.md#cluster-scale)."]
    return "\n".join(L) + "\n"


def runtime_section(runs):
    """Container start under real runtimes (bench/podman-start.sh, bench/containerd-start.sh) as Markdown."""
    def execs(n):
        return f"{n['execs_total']}: " + ", ".join(f"{k} ×{v}" for k, v in sorted(n["execs"].items()))

    L = ["## Container start under real runtimes", "",
         "A container started and removed (`podman run --rm --network N IMAGE true`; `ctr run --cni --rm IMAGE ID true`) "
         "on three networks of the same shape (bridge + host-local + isGateway + ipMasq, then loopback): the reference "
         "plugins, jcni's clients with the daemon behind them, and jcni's clients alone (the standalone path). "
         "Interleaved in one run; medians. The plugin executables the runtime exec'd for one container are counted "
         "with strace in one more start per network. \"No network\" is the same start with no CNI at all (podman "
         "`--network none`, ctr without `--cni`): the runtime's own cost, which no plugin can go below; \"floor / ref\" "
         "is the best ratio any plugin could reach. ✓/✗: the goal (daemon ≤ 0.8 × the reference) met or missed.", "",
         "| runtime | runs | reference (ms) | jcni daemon (ms) | daemon / ref | jcni standalone (ms) | standalone / ref | no network (ms) | floor / ref | load (start → end) |",
         "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for rr in runs:
        N = rr["networks"]
        ref = N["ref"]["median_ms"]
        d, a = N["daemon"]["median_ms"], N["alone"]["median_ms"]
        z = N["none"]["median_ms"] if "none" in N else None
        L.append(f"| {rr['runtime']} {rr['version']} | {rr['runs']} | {ref:.0f} | {d:.0f} | {d / ref:.2f}{verdict(d / ref, 0.8, True)} | "
                 f"{a:.0f} | {a / ref:.2f} | {'—' if z is None else f'{z:.0f}'} | {'' if z is None else f'{z / ref:.2f}'} | "
                 f"{rr['load_start']} → {rr['load_end']} |")
    L += ["", "Plugin executables per container (by plugin and CNI_COMMAND):", ""]
    for rr in runs:
        N = rr["networks"]
        L.append(f"- {rr['runtime']}: reference {execs(N['ref'])}; jcni {execs(N['daemon'])}.")
    L.append("")
    L.append("A VERSION exec of a jcni client is answered by the client itself (no JVM, no daemon round trip); "
             "host-local runs inside jcni's bridge plugin, so its executable is never exec'd. Raw samples: " + ", ".join(
                 f"[benchmark-{rr['runtime']}.json](benchmark-{rr['runtime']}.json)" for rr in runs) + ".")
    return "\n".join(L) + "\n"


def verdict(rt, tv, lower):
    if rt is None or tv is None:
        return ""
    ok = rt <= tv if lower else rt >= tv
    return " ✓" if ok else " ✗"


runtime_runs = [json.load(open(f)) for f in (find("benchmark-podman.json"), find("benchmark-containerd.json")) if f]
runtime_md = "" if not runtime_runs else "\n" + runtime_section(runtime_runs)
cluster_json = find("benchmark-cluster.json")
cluster_md = "" if cluster_json is None else "\n" + cluster_section(json.load(open(cluster_json)))
scale_json = find("benchmark-scale.json")
if scale_json is not None:
    cluster_md += "\n" + scale_section(json.load(open(scale_json)))
plugin_json = find("benchmark.json")
if plugin_json is None:
    if cluster_json is None and scale_json is None:
        sys.exit(f"report.py: neither benchmark.json nor benchmark-cluster.json in {src} or {out}")
    open(os.path.join(out, "benchmark.md"), "w").write("# Benchmark" + "\n" + cluster_md)
    print(cluster_md)
    sys.exit(0)
r = json.load(open(plugin_json))
has_daemon = "daemon" in r["impls"]
NM = "not measured"

rows = []  # (label, unit, ref, jcni, daemon, target text, lower_is_better, target_value, target_impl)


def ABS(limit):
    """A target on the value itself (not on the ratio to the reference): marked on jcni's own cells."""
    return ("abs", limit)


def ms(x):
    return None if x is None else x * 1000


for verb in ("ADD", "CHECK", "DEL"):
    s = r["seq"]
    for q in ("median", "p95"):
        tgt = {"ADD": ("standalone ≤ 3.0, daemon ≤ 0.5", 3.0, 0.5), "DEL": ("daemon ≤ 0.35", None, 0.35)}.get(verb)
        tgt = tgt if q == "median" else None
        rows.append((f"sequential {verb} {q} ({s['ref'][verb]['n']} pods)", "ms", ms(s["ref"][verb][q]),
                     ms(s["jcni"][verb][q]), ms(s["daemon"][verb][q]) if has_daemon else None,
                     tgt[0] if tgt else "", True, tgt[1:] if tgt else None))
for n, p in r["parallel"].items():
    for verb in ("add", "del"):
        tgt = ("≤ 0.3", 0.3, 0.3) if (n == "200" and verb == "add") else None
        rows.append((f"{n} parallel {verb.upper()}s: wall", "s", p["ref"][f"{verb}_wall"], p["jcni"][f"{verb}_wall"],
                     p["daemon"][f"{verb}_wall"] if has_daemon else None, tgt[0] if tgt else "", True,
                     tgt[1:] if tgt else None))
        rows.append((f"{n} parallel {verb.upper()}s: pods/s", "pods/s", p["ref"][f"{verb}_pods_s"],
                     p["jcni"][f"{verb}_pods_s"], p["daemon"][f"{verb}_pods_s"] if has_daemon else None, "", False, None))
g = r["growth"]
hi_pod = 60 if r["quick"] else 1000
rows.append(("ADD around pod 10", "ms", ms(g["ref"]["lo"]), ms(g["jcni"]["lo"]), ms(g["daemon"]["lo"]) if has_daemon else None,
             "", True, None))
rows.append((f"ADD around pod {hi_pod}", "ms", ms(g["ref"]["hi"]), ms(g["jcni"]["hi"]),
             ms(g["daemon"]["hi"]) if has_daemon else None, "", True, None))
rows.append((f"ADD growth factor (pod {hi_pod} / pod 10)", "×", g["ref"]["factor"], g["jcni"]["factor"],
             g["daemon"]["factor"] if has_daemon else None, "≤ 1.2 (absolute)", True, ABS(1.2)))
if "del_lo" in g["ref"]:
    rows.append(("DEL around pod 10", "ms", ms(g["ref"]["del_lo"]), ms(g["jcni"]["del_lo"]),
                 ms(g["daemon"]["del_lo"]) if has_daemon else None, "", True, None))
    rows.append((f"DEL around pod {hi_pod}", "ms", ms(g["ref"]["del_hi"]), ms(g["jcni"]["del_hi"]),
                 ms(g["daemon"]["del_hi"]) if has_daemon else None, "", True, None))
    rows.append((f"DEL growth factor (pod {hi_pod} / pod 10)", "×", g["ref"]["del_factor"], g["jcni"]["del_factor"],
                 g["daemon"]["del_factor"] if has_daemon else None, "≤ 1.2 (absolute)", True, ABS(1.2)))
c = r.get("cpu_s", {})
for verb in ("ADD", "DEL"):
    if f"ref:{verb}" in c:
        rows.append((f"CPU time of one {verb} (user + sys, median)", "ms", c[f"ref:{verb}"] * 1000, c[f"jcni:{verb}"] * 1000,
                     c[f"daemon:{verb}"] * 1000 if has_daemon else None, "", True, None))
rss = r["rss_kib"]
rows.append(("peak RSS of one exec'd ADD (median)", "MiB", rss["ref"]["ADD"] / 1024, rss["jcni"]["ADD"] / 1024,
             rss["daemon"]["ADD"] / 1024 if has_daemon else None, "", True, None))
d = r.get("daemon_rss_kib") or {}
if "VmRSS_idle" in d:
    rows.append(("daemon RSS, idle (after one ADD and DEL)", "MiB", None, None, d["VmRSS_idle"] / 1024, "", True, None))
rows.append((f"daemon RSS at {d.get('pods', 250)} pods", "MiB", None, None,
             d["VmRSS"] / 1024 if "VmRSS" in d else None, "≤ 96 MiB (absolute)", True, ABS(96)))
if "VmRSS_growth_hi" in d:
    rows.append((f"daemon RSS at {d['growth_hi_pods']} pods", "MiB", None, None, d["VmRSS_growth_hi"] / 1024, "", True, None))
if "VmHWM_end" in d:
    rows.append(("daemon RSS, peak over the run", "MiB", None, None, d["VmHWM_end"] / 1024, "", True, None))
t = r["iperf_gbps"]
rows.append(("pod→pod TCP throughput (iperf3)", "Gbit/s", t["ref"], t["jcni"], t.get("daemon"), "≥ 0.95", False, (0.95, 0.95)))


def fmt(x, unit):
    if x is None:
        return NM
    if unit in ("ms", "MiB", "pods/s"):
        return f"{x:.1f}" if x < 1000 else f"{x:.0f}"
    if unit == "s":
        return f"{x:.2f}"
    return f"{x:.2f}"


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


lines = []
lines.append(f"Run of `bench/run.sh{' --quick' if r['quick'] else ''}`: {r['cpus']} CPUs, kernel {r['host']['kernel']}, "
             f"{round(r['duration_s'])} s. Load: `{r['uptime_start']}` at the start, `{r['uptime_end']}` at the end "
             f"(other jobs shared the machine; ratios hold better than absolute times).\n")
lines.append("| metric | unit | reference | jcni standalone | jcni / ref | jcni daemon | daemon / ref | target (jcni / ref) |")
lines.append("|---|---|---:|---:|---:|---:|---:|---|")
for label, unit, ref, j, dm, tgt, lower, tv in rows:
    rj, rd = ratio(j, ref), ratio(dm, ref)
    absolute = tv is not None and tv[0] == "abs"
    if "growth factor" in label:
        rj = rd = None
    own_j = "" if not absolute or j is None else verdict(j, tv[1], lower)
    own_d = "" if not absolute or dm is None else verdict(dm, tv[1], lower)
    tr = None if absolute else tv
    lines.append(f"| {label} | {unit} | {fmt(ref, unit) if ref is not None else '—'} | "
                 f"{fmt(j, unit) + own_j if j is not None else '—'} | "
                 f"{'' if rj is None else f'{rj:.2f}' + verdict(rj, tr[0] if tr else None, lower)} | "
                 f"{fmt(dm, unit) + own_d} | {'' if rd is None else f'{rd:.2f}' + verdict(rd, tr[1] if tr else None, lower)} | {tgt} |")
lines.append("\nTimes are per plugin process (fork + exec + work + exit) as a runtime sees them; the standalone path is the "
             "JVM with the install-time AOT cache. ✓/✗: target met or missed.\n")
lines.append("![jcni / reference per metric](benchmark.svg)\n")
lines.append("What dominates where a target is missed, and what would close it: [benchmark-notes.md](benchmark-notes.md).")
open(os.path.join(out, "benchmark.md"), "w").write("# Benchmark: jcni vs the reference CNI plugins\n\n" + "\n".join(lines) + "\n"
                                                   + runtime_md + cluster_md)
print("\n".join(lines) + runtime_md + cluster_md)

# ---- chart: jcni / reference per metric, log scale, 1.0 marked ----
chart = [(lab, ratio(j, ref), ratio(dm, ref), lower) for lab, unit, ref, j, dm, tgt, lower, tv in rows
         if ref is not None and j is not None and "p95" not in lab and "pods/s" not in lab]
chart = [c for c in chart if c[1] is not None and "growth factor" not in c[0]]
chart.append(("ADD growth factor, reference (×)", g["ref"]["factor"], None, True))
chart.append(("ADD growth factor, jcni (×)", g["jcni"]["factor"], g["daemon"]["factor"] if has_daemon else None, True))
if "del_factor" in g["ref"]:
    chart.append(("DEL growth factor, reference (×)", g["ref"]["del_factor"], None, True))
    chart.append(("DEL growth factor, jcni (×)", g["jcni"]["del_factor"], g["daemon"]["del_factor"] if has_daemon else None, True))
W, left, right, top, bar, gap = 900, 330, 40, 60, 12, 10
H = top + len(chart) * (2 * bar + gap) + 50
lo, hi = 0.05, 20.0


def x(v):
    v = min(max(v, lo), hi)
    return left + (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * (W - left - right)


svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
       '<rect width="100%" height="100%" fill="white"/>',
       f'<text x="{W / 2}" y="20" text-anchor="middle" font-size="15">jcni / reference (Go CNI plugins), log scale: '
       f'below 1 = jcni uses less (time, memory)</text>',
       f'<text x="{W / 2}" y="38" text-anchor="middle" fill="#555">{r["cpus"]} CPUs, load {" ".join(r["load_start"])} '
       f'→ {" ".join(r["load_end"])}{", quick run" if r["quick"] else ""}; growth rows are absolute factors</text>']
for v in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20):
    svg.append(f'<line x1="{x(v):.1f}" y1="{top - 8}" x2="{x(v):.1f}" y2="{H - 40}" stroke="{"#000" if v == 1 else "#ddd"}"/>')
    svg.append(f'<text x="{x(v):.1f}" y="{H - 25}" text-anchor="middle">{v:g}</text>')
y = top
for label, rj, rd, lower in chart:
    svg.append(f'<text x="{left - 8}" y="{y + bar + 4}" text-anchor="end">{label}{"" if lower else " (higher is better)"}</text>')
    for k, (v, color) in enumerate(((rj, "#d9822b"), (rd, "#2b7bd9"))):
        yy = y + k * bar
        if v is None:
            if k == 1:
                svg.append(f'<text x="{left + 4}" y="{yy + bar - 2}" fill="#999" font-size="10">daemon: not measured</text>')
            continue
        x0, x1 = sorted((x(1), x(v)))
        svg.append(f'<rect x="{x0:.1f}" y="{yy}" width="{max(x1 - x0, 1):.1f}" height="{bar - 1}" fill="{color}"/>')
        svg.append(f'<text x="{x(v) + (4 if v >= 1 else -4):.1f}" y="{yy + bar - 2}" font-size="10" '
                   f'text-anchor="{"start" if v >= 1 else "end"}">{v:.2f}</text>')
    y += 2 * bar + gap
svg.append(f'<rect x="{left}" y="{H - 15}" width="10" height="10" fill="#d9822b"/>'
           f'<text x="{left + 14}" y="{H - 6}">jcni standalone (JVM + AOT cache)</text>'
           f'<rect x="{left + 260}" y="{H - 15}" width="10" height="10" fill="#2b7bd9"/>'
           f'<text x="{left + 274}" y="{H - 6}">jcni daemon (native client)</text>')
svg.append("</svg>")
open(os.path.join(out, "benchmark.svg"), "w").write("\n".join(svg) + "\n")
