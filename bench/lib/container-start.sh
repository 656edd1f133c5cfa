# Sourced by bench/podman-start.sh and bench/containerd-start.sh: the parts both share.
#
#   start_args SCRIPT HELP_END TOOL... -- ARG...
#                                 parses the scripts' arguments, [RUNS (default 20)] [--json FILE], into runs
#                                 and json (--help prints lines 2..HELP_END of SCRIPT); checks for root and
#                                 that every TOOL is there
#   busybox_rootfs WORK           a tar of a root filesystem holding Debian's busybox-static (sh, true, sleep)
#   bench_conflist NAME PREFIX BRIDGE SUBNET DATADIR
#                                 bridge + host-local + isGateway + ipMasq, then loopback; PREFIX is "" for
#                                 the reference plugins and "jcni-" for jcni's
#   pick_subnet                   a free 10.2xx.y (no route of the host overlaps 10.2xx.y.0/24)
#   time_runs RUNS OUT KEY...     interleaved: for each run, for each KEY in a shuffled order, times
#                                 OUT/start-KEY (an executable the caller wrote: one container started and
#                                 removed) into OUT/KEY.us; 2 warm-up rounds first
#   count_execs OUT KEY DIRS      runs OUT/start-KEY once more under strace and writes OUT/KEY.execs: the
#                                 executables in DIRS (colon-separated) the runtime exec'd, with their CNI_COMMAND
#   write_json OUT FILE RUNTIME VERSION RUNS KEY...   the medians, spreads and exec counts as JSON

start_args() {
    local script=$1 help_end=$2 t
    shift 2
    local tools=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do tools+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    runs=20 json=
    while [ $# -gt 0 ]; do
        case $1 in
            --json) json=$2; shift ;;
            -h|--help) sed -n "2,${help_end}p" "$script" | sed 's/^# \{0,1\}//'; exit 0 ;;
            *) runs=$1 ;;
        esac
        shift
    done
    [ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
    for t in "${tools[@]}"; do
        command -v "$t" >/dev/null || { echo "missing: $t" >&2; exit 1; }
    done
}

busybox_rootfs() {
    local work=$1
    mkdir -p "$work/rootfs/bin" "$work/rootfs/etc"
    cp /bin/busybox "$work/rootfs/bin/"
    local a
    for a in sh true sleep; do ln -s busybox "$work/rootfs/bin/$a"; done
    tar --owner=0 --group=0 --numeric-owner -C "$work/rootfs" -cf "$work/rootfs.tar" .
}

bench_conflist() {
    cat <<JSON
{"cniVersion": "1.0.0", "name": "$1", "plugins": [
  {"type": "${2}bridge", "bridge": "$3", "isGateway": true, "ipMasq": true,
   "ipam": {"type": "${2}host-local", "dataDir": "$5", "ranges": [[{"subnet": "$4.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "${2}loopback"}]}
JSON
}

pick_subnet() {
    local s
    while :; do
        s="10.$((200 + RANDOM % 50)).$((RANDOM % 256))"
        case " ${PICKED_SUBNETS:-} " in *" $s "*) continue ;; esac
        ip -4 route show table all | grep -q "^$s\." && continue
        PICKED_SUBNETS="${PICKED_SUBNETS:-} $s"
        echo "$s"
        return
    done
}

time_runs() {
    local runs=$1 out=$2 i k s e
    shift 2
    for i in 1 2; do for k in "$@"; do "$out/start-$k" >/dev/null; done; done
    for i in $(seq "$runs"); do
        for k in $(printf '%s\n' "$@" | shuf); do
            s=$(date +%s%N)
            "$out/start-$k" >/dev/null
            e=$(date +%s%N)
            echo $(( (e - s) / 1000 )) >>"$out/$k.us"
        done
    done
}

count_execs() {
    local out=$1 k=$2 dirs=$3
    # -f: the runtime's children are the plugins; -v -s: their environment, for CNI_COMMAND
    strace -f -qq -e trace=execve -e signal=none -v -s 256 -o "$out/$k.strace" "$out/start-$k" >/dev/null 2>&1
    python3 - "$out/$k.strace" "$dirs" >"$out/$k.execs" <<'PY'
import re, sys
dirs = [d for d in sys.argv[2].split(":") if d]
counts = {}
pending = {}  # pid -> the key of an execve whose result comes on a later "resumed" line


def key_of(line):
    m = re.search(r'execve\("([^"]+)"', line)
    if not m or not any(m.group(1).startswith(d.rstrip("/") + "/") for d in dirs):
        return None
    verb = re.search(r'"CNI_COMMAND=([A-Z]*)"', line)
    return m.group(1).rsplit("/", 1)[1] + " " + (verb.group(1) if verb else "?")


for line in open(sys.argv[1], errors="replace"):
    line = line.rstrip()
    pid = line.split(" ", 1)[0]
    if "execve resumed>" in line:
        k = pending.pop(pid, None)
        ok = line.endswith("= 0")
    elif "execve(" in line:
        k = key_of(line)
        if line.endswith("<unfinished ...>"):
            pending[pid] = k
            continue
        ok = line.endswith("= 0")
    else:
        continue
    if k and ok:
        counts[k] = counts.get(k, 0) + 1
for k in sorted(counts):
    print(f"{counts[k]}\t{k}")
PY
}

write_json() {
    local out=$1 file=$2 runtime=$3 version=$4 runs=$5
    shift 5
    python3 - "$out" "$file" "$runtime" "$version" "$runs" "${LOAD_START:-}" "$(cut -d' ' -f1-3 /proc/loadavg)" "$@" <<'PY'
import json, os, statistics, sys
out, file, runtime, version, runs, load0, load1, *keys = sys.argv[1:]
res = {"runtime": runtime, "version": version, "runs": int(runs), "cpus": os.cpu_count(),
       "load_start": load0, "load_end": load1, "networks": {}}
for k in keys:
    us = [int(x) for x in open(os.path.join(out, k + ".us"))]
    ms = sorted(u / 1000 for u in us)
    execs = {}
    p = os.path.join(out, k + ".execs")
    if os.path.exists(p):
        for line in open(p):
            n, name = line.rstrip("\n").split("\t")
            execs[name] = int(n)
    res["networks"][k] = {"median_ms": statistics.median(ms), "mean_ms": statistics.mean(ms), "min_ms": ms[0],
                          "max_ms": ms[-1], "n": len(ms), "execs": execs, "execs_total": sum(execs.values())}
json.dump(res, open(file, "w"), indent=1)
PY
}

print_summary() {
    python3 - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
N = r["networks"]
ref = N["ref"]["median_ms"]
print(f"{r['runtime']} {r['version']}, {r['cpus']} CPUs, {r['runs']} runs per network, interleaved; load {r['load_start']} -> {r['load_end']}")
for k, label in (("ref", "reference plugins"), ("daemon", "jcni, daemon path"), ("alone", "jcni, standalone path"),
                 ("none", "no network (the floor)")):
    if k in N:
        n = N[k]
        e = ", ".join(f"{name} ×{c}" for name, c in sorted(n["execs"].items()))
        print(f"  {label:24} median {n['median_ms']:7.1f} ms  (min {n['min_ms']:.1f}, max {n['max_ms']:.1f})  "
              f"{n['median_ms'] / ref:5.2f}× ref   plugin execs per container: {n['execs_total']} ({e})")
PY
}
