#!/usr/bin/env python3
"""jcni vs the reference CNI plugins, side by side in one interleaved run (driven by bench/run.sh).

Each implementation is an "executable directory" holding a bridge plugin (and its IPAM):
  ref     REF_BIN/bridge        (default /usr/lib/cni)
  jcni    JCNI_BIN/jcni-bridge  (the standalone JVM path, installed by run.sh)
  daemon  JCNI_DAEMON_BIN/jcni-bridge (the native client talking to a resident `jcni daemon`), if set
Each gets its own bridge, 10.x subnet, network name, IPAM dataDir and namespaces. The plugins are
run directly with the CNI_* environment and the configuration on stdin (no runtime). Everything
created is removed at the end, on error and on Ctrl-C: pods are DELeted by the plugin that added
them (which removes the reference's iptables chains and jcni's nft set elements), namespaces and
bridges deleted, leftover per-network nft objects removed, ip_forward restored.
"""
import concurrent.futures as cf
import json
import os
import random
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

QUICK = "--quick" in sys.argv
OUT = os.environ.get("BENCH_OUT", "")
SEQ_PODS = 8 if QUICK else 30
PAR = [20] if QUICK else [50, 200]
GROWTH_HI = 60 if QUICK else 1000
GROWTH_WINDOW = 10  # pods timed around pod 10 and around pod GROWTH_HI
DAEMON_PODS = 50 if QUICK else 250
IPERF_SECONDS = 2 if QUICK else 5
IPERF_ROUNDS = 2 if QUICK else 3
TAG = "jb%x" % (os.getpid() % 4096)

work = tempfile.mkdtemp(prefix="jcni-bench.")
lock = threading.Lock()
attached = {}  # (impl, pod) -> netns name: what cleanup must DEL
cpu = {}  # (impl, verb) -> CPU seconds (user + sys, the process tree) of each plugin run
namespaces = set()


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def sh(*cmd, check=True):
    return subprocess.run(cmd, check=check, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


class Impl:
    def __init__(self, key, label, plugin, cni_path, index):
        self.key, self.label, self.plugin, self.cni_path = key, label, plugin, cni_path
        self.bridge = f"{TAG}{key[0]}0"
        self.network = f"{TAG}{key}"
        self.subnet = f"10.214.{16 * index}.0/20"
        self.data = os.path.join(work, "data-" + key)
        self.conf = json.dumps({
            "cniVersion": "1.0.0", "name": self.network, "type": os.path.basename(plugin),
            "bridge": self.bridge, "isGateway": True, "ipMasq": True,
            "ipam": {"type": "host-local", "dataDir": self.data,
                     "ranges": [[{"subnet": self.subnet}]], "routes": [{"dst": "0.0.0.0/0"}]}})
        self.results = {}  # pod -> ADD result (for CHECK's prevResult)

    def ns(self, pod):
        return f"{TAG}{self.key[0]}{pod}"


def run_rss(impl, verb, pod, conf=None):
    """Like Impl.run but reaps the child itself to read its peak RSS (ru_maxrss of wait4)."""
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "CNI_COMMAND": verb, "CNI_CONTAINERID": f"{TAG}-{pod}",
           "CNI_NETNS": "/run/netns/" + impl.ns(pod), "CNI_IFNAME": "eth0", "CNI_PATH": impl.cni_path}
    t0 = time.perf_counter()
    p = subprocess.Popen([impl.plugin], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    p.stdin.write((conf or impl.conf).encode())
    p.stdin.close()
    out = p.stdout.read()
    p.stdout.close()
    _, status, ru = os.wait4(p.pid, 0)  # reaped here, not by Popen: wait4 gives the peak RSS
    dt = time.perf_counter() - t0
    code = p.returncode = os.waitstatus_to_exitcode(status)
    with lock:
        cpu.setdefault((impl.key, verb), []).append(ru.ru_utime + ru.ru_stime)
    if code != 0:
        raise RuntimeError(f"{impl.key} {verb} pod {pod} failed ({code}): {out.decode(errors='replace')}")
    return dt, ru.ru_maxrss, out


def add_ns(impl, pod):
    name = impl.ns(pod)
    sh("ip", "netns", "add", name)
    with lock:
        namespaces.add(name)


def del_ns(impl, pod):
    name = impl.ns(pod)
    sh("ip", "netns", "del", name, check=False)
    with lock:
        namespaces.discard(name)


def attach(impl, pod):
    add_ns(impl, pod)
    with lock:
        attached[(impl.key, pod)] = impl
    dt, rss, out = run_rss(impl, "ADD", pod)
    impl.results[pod] = json.loads(out)
    return dt, rss


def detach(impl, pod):
    dt, rss, _ = run_rss(impl, "DEL", pod)
    with lock:
        attached.pop((impl.key, pod), None)
    impl.results.pop(pod, None)
    del_ns(impl, pod)
    return dt, rss


def check(impl, pod):
    conf = json.loads(impl.conf)
    conf["prevResult"] = impl.results[pod]
    dt, rss, _ = run_rss(impl, "CHECK", pod, json.dumps(conf))
    return dt, rss


def stats(xs):
    xs = sorted(xs)
    if not xs:
        return None
    return {"median": statistics.median(xs), "p95": xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))], "n": len(xs)}


def interleaved(impls, n, fn, first=1):
    """Runs fn(impl, pod) for pods first..first+n-1, each pod for every impl in a shuffled order."""
    times = {i.key: [] for i in impls}
    rss = {i.key: [] for i in impls}
    for pod in range(first, first + n):
        order = impls[:]
        random.shuffle(order)
        for impl in order:
            dt, r = fn(impl, pod)
            times[impl.key].append(dt)
            rss[impl.key].append(r)
    return times, rss


def run_all(fn, items, workers):
    """fn(*item) for every item on `workers` threads; on error or Ctrl-C, queued items are dropped."""
    ex = cf.ThreadPoolExecutor(max_workers=workers)
    try:
        for f in [ex.submit(fn, *item) for item in items]:
            f.result()
    finally:
        ex.shutdown(wait=True, cancel_futures=True)


def parallel(impl, pods, fn):
    """Starts fn for every pod at once; returns the wall time."""
    t0 = time.perf_counter()
    run_all(fn, [(impl, p) for p in pods], len(pods))
    return time.perf_counter() - t0


def fill(impls, lo, hi, workers=4):
    """Attaches pods lo..hi-1 of every impl, untimed, a few at a time (each impl's own ADD)."""
    jobs = [(i, p) for p in range(lo, hi) for i in impls]
    random.shuffle(jobs)
    run_all(attach, jobs, workers)


def drain(impls, workers=4):
    with lock:
        todo = [(impl, pod) for (key, pod), impl in attached.items() if impl in impls]
    run_all(detach, todo, workers)


def daemon_pid():
    pid = os.environ.get("JCNI_DAEMON_PID")
    if pid:
        return int(pid)
    sock = os.environ.get("JCNI_DAEMON_SOCKET", "/run/jcni/jcni.sock")
    r = sh("ss", "-xlpn", check=False)
    for line in r.stdout.splitlines():
        if sock in line and "pid=" in line:
            return int(line.split("pid=")[1].split(",")[0])
    return None


def proc_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def iperf(impl):
    """TCP throughput pod 1 -> pod 2 on the impl's bridge (Gbit/s)."""
    ip2 = impl.results[2]["ips"][0]["address"].split("/")[0]
    srv = subprocess.Popen(["ip", "netns", "exec", impl.ns(2), "iperf3", "-s", "-1", "-B", ip2],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(50):
            if sh("ip", "netns", "exec", impl.ns(2), "ss", "-ltn", check=False).stdout.find(":5201") >= 0:
                break
            time.sleep(0.1)
        r = sh("ip", "netns", "exec", impl.ns(1), "iperf3", "-c", ip2, "-t", str(IPERF_SECONDS), "-J")
        return json.loads(r.stdout)["end"]["sum_received"]["bits_per_second"] / 1e9
    finally:
        srv.kill()
        srv.wait()


def cleanup(impls):
    log("cleaning up ...")
    with lock:
        todo = list(attached.items())
    for (key, pod), impl in todo:
        try:
            run_rss(impl, "DEL", pod)
        except Exception as e:  # noqa: BLE001 - best effort, keep going
            log(f"cleanup: {key} DEL pod {pod}: {e}")
    for name in list(namespaces):
        sh("ip", "netns", "del", name, check=False)
    for impl in impls:
        sh("ip", "link", "del", impl.bridge, check=False)
        if impl.key != "ref":
            sh("nft", "delete", "chain", "inet", "jcni", "masq_" + impl.network, check=False)
            for s in ("pods4_", "pods6_", "local4_", "local6_"):
                sh("nft", "delete", "set", "inet", "jcni", s + impl.network, check=False)
    sh("rm", "-rf", work, check=False)


def main():
    ref_bin = os.environ.get("REF_BIN", "/usr/lib/cni")
    jcni_bin = os.environ["JCNI_BIN"]
    daemon_bin = os.environ.get("JCNI_DAEMON_BIN", "")
    impls = [Impl("ref", "reference (Go)", ref_bin + "/bridge", ref_bin, 0),
             Impl("jcni", "jcni standalone (JVM)", jcni_bin + "/jcni-bridge", jcni_bin + ":" + ref_bin, 1)]
    if daemon_bin and os.access(os.path.join(daemon_bin, "jcni-bridge"), os.X_OK):
        impls.append(Impl("daemon", "jcni daemon (client)", daemon_bin + "/jcni-bridge",
                          daemon_bin + ":" + ref_bin, 2))
    else:
        log("daemon path: not measured (set JCNI_DAEMON_BIN to a directory holding the client executables)")
    for impl in impls:
        routes = sh("ip", "-4", "route", "show", "root", impl.subnet).stdout.strip()
        if routes or sh("ip", "link", "show", impl.bridge, check=False).returncode == 0:
            sys.exit(f"refusing: {impl.subnet} or bridge {impl.bridge} already in use on this host")
    fwd = open("/proc/sys/net/ipv4/ip_forward").read().strip()
    res = {"impls": {i.key: i.label for i in impls}, "quick": QUICK, "cpus": os.cpu_count(),
           "load_start": open("/proc/loadavg").read().split()[:3], "uptime_start": sh("uptime").stdout.strip()}
    t_start = time.time()

    def stop(signum, frame):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, stop)
    try:
        # warm-up: one ADD/DEL each (page cache, first bridge creation), not counted
        for impl in impls:
            attach(impl, 0)
            detach(impl, 0)
        if any(i.key == "daemon" for i in impls) and daemon_pid():
            res["daemon_rss_kib"] = {"VmRSS_idle": proc_kib(daemon_pid(), "VmRSS")}

        log(f"sequential ADD, CHECK, DEL of {SEQ_PODS} pods, interleaved ...")
        add_t, add_rss = interleaved(impls, SEQ_PODS, attach)
        chk_t, chk_rss = interleaved(impls, SEQ_PODS, check)
        # iperf3 between pods 1 and 2 while they are attached
        log("iperf3 pod -> pod ...")
        tput = {i.key: [] for i in impls}
        for _ in range(IPERF_ROUNDS):
            for impl in random.sample(impls, len(impls)):
                tput[impl.key].append(iperf(impl))
        del_t, del_rss = interleaved(impls, SEQ_PODS, detach)
        res["seq"] = {k: {"ADD": stats(add_t[k]), "CHECK": stats(chk_t[k]), "DEL": stats(del_t[k])} for k in add_t}
        res["rss_kib"] = {k: {"ADD": statistics.median(add_rss[k]), "ADD_max": max(add_rss[k]),
                              "DEL": statistics.median(del_rss[k])} for k in add_rss}
        res["iperf_gbps"] = {k: statistics.median(v) for k, v in tput.items()}

        res["parallel"] = {}
        for n in PAR:
            for impl in random.sample(impls, len(impls)):
                log(f"{n} parallel ADDs and DELs: {impl.key} ...")
                pods = list(range(1000 + 1, 1000 + n + 1))
                for p in pods:
                    add_ns(impl, p)
                    with lock:
                        attached[(impl.key, p)] = impl
                wa = parallel(impl, pods, lambda i, p: i.results.__setitem__(p, json.loads(run_rss(i, "ADD", p)[2])))
                wd = parallel(impl, pods, lambda i, p: run_rss(i, "DEL", p))
                with lock:
                    for p in pods:
                        attached.pop((impl.key, p), None)
                for p in pods:
                    del_ns(impl, p)
                    impl.results.pop(p, None)
                res["parallel"].setdefault(str(n), {})[impl.key] = {"add_wall": wa, "del_wall": wd,
                                                                   "add_pods_s": n / wa, "del_pods_s": n / wd}

        if any(i.key == "daemon" for i in impls):
            d = next(i for i in impls if i.key == "daemon")
            pid = daemon_pid()
            log(f"daemon RSS at {DAEMON_PODS} pods (pid {pid}) ...")
            pods = list(range(3000, 3000 + DAEMON_PODS))
            run_all(attach, [(d, p) for p in pods], 16)
            if pid:
                res.setdefault("daemon_rss_kib", {}).update({"VmRSS": proc_kib(pid, "VmRSS"), "VmHWM": proc_kib(pid, "VmHWM"),
                                                             "pods": DAEMON_PODS})
            drain([d], workers=16)

        log(f"growth: ADD and DEL latency around pod {GROWTH_WINDOW} and around pod {GROWTH_HI} ...")
        w0 = GROWTH_WINDOW // 2  # the window: pods w0..w0+GROWTH_WINDOW-1 (5..14), with pods 1..19 attached
        lo_t, _ = interleaved(impls, GROWTH_WINDOW * 2 - 1, attach, first=1)
        lo_del, _ = interleaved(impls, GROWTH_WINDOW, detach, first=w0)
        interleaved(impls, GROWTH_WINDOW, attach, first=w0)  # back, untimed: the count goes on from 19
        fill(impls, GROWTH_WINDOW * 2, GROWTH_HI - w0)
        hi_t, _ = interleaved(impls, GROWTH_WINDOW, attach, first=GROWTH_HI - w0)
        if any(i.key == "daemon" for i in impls) and daemon_pid():
            res.setdefault("daemon_rss_kib", {})["VmRSS_growth_hi"] = proc_kib(daemon_pid(), "VmRSS")
            res["daemon_rss_kib"]["growth_hi_pods"] = sum(1 for (k, _) in attached if k == "daemon")
        hi_del, _ = interleaved(impls, GROWTH_WINDOW, detach, first=GROWTH_HI - w0)
        res["growth"] = {}
        for impl in impls:
            lo = statistics.median(lo_t[impl.key][w0 - 1:w0 - 1 + GROWTH_WINDOW])
            hi = statistics.median(hi_t[impl.key])
            dlo, dhi = statistics.median(lo_del[impl.key]), statistics.median(hi_del[impl.key])
            res["growth"][impl.key] = {"lo": lo, "hi": hi, "factor": hi / lo,
                                       "del_lo": dlo, "del_hi": dhi, "del_factor": dhi / dlo}
        t_del = time.time()
        log("removing the growth pods ...")
        drain(impls)
        res["growth_drain_s"] = time.time() - t_del
    except KeyboardInterrupt:
        log("interrupted")
        cleanup(impls)
        open("/proc/sys/net/ipv4/ip_forward", "w").write(fwd + "\n")
        sys.exit(130)
    except BaseException:
        cleanup(impls)
        open("/proc/sys/net/ipv4/ip_forward", "w").write(fwd + "\n")
        raise
    if any(i.key == "daemon" for i in impls) and daemon_pid():
        res.setdefault("daemon_rss_kib", {})["VmHWM_end"] = proc_kib(daemon_pid(), "VmHWM")
    cleanup(impls)
    open("/proc/sys/net/ipv4/ip_forward", "w").write(fwd + "\n")
    res["cpu_s"] = {f"{k}:{v}": statistics.median(t) for (k, v), t in cpu.items()}
    res["load_end"] = open("/proc/loadavg").read().split()[:3]
    res["uptime_end"] = sh("uptime").stdout.strip()
    res["duration_s"] = time.time() - t_start
    res["host"] = {"kernel": os.uname().release, "java": os.environ.get("JCNI_JAVA", "")}
    json.dump(res, open(os.path.join(OUT, "benchmark.json"), "w"), indent=1)
    log(f"done in {res['duration_s']:.0f} s")


if __name__ == "__main__":
    main()
