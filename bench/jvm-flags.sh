#!/usr/bin/env bash
# Chooses the plugin executables' JVM flags by measuring a real jcni-bridge ADD (bridge + host-local +
# ipMasq, fresh namespace each time) under each candidate flag set; every AOT variant gets its own
# cache trained (io.jcni.plugins.AotTraining) with exactly its flags, and is proven accepted with
# -XX:AOTMode=on. ROUNDS hyperfine invocations of RUNS runs each, so the variants are interleaved.
# Usage: bench/jvm-flags.sh [ROUNDS (3)] [RUNS (8)]   (root, hyperfine; builds with Maven if needed)
#   ONLY="D E"  measure only these variants
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
if [ "${1:-}" = _reset ]; then # hyperfine --prepare: DEL the previous attachment, fresh namespace
    work=$2 v=$3
    if ip netns list | grep -qw jcniflags; then
        CNI_COMMAND=DEL CNI_CONTAINERID=flags CNI_NETNS=/run/netns/jcniflags CNI_IFNAME=eth0 CNI_PATH=/nonexistent \
            "$work/D" <"$work/conf.json" >/dev/null
        ip netns del jcniflags
    fi
    ip netns add jcniflags
    exit 0
fi
. "$root/bin/lib/find-java.sh"
jcni_find_java || exit 1
rounds=${1:-3} runs=${2:-8}
java=$JCNI_JAVA_HOME/bin/java
work=$(mktemp -d /tmp/jcni-flags.XXXXXX)
cleanup() {
    set +e
    if ip netns list | grep -qw jcniflags; then
        CNI_COMMAND=DEL CNI_CONTAINERID=flags CNI_NETNS=/run/netns/jcniflags CNI_IFNAME=eth0 CNI_PATH=/nonexistent \
            "$work/D" <"$work/conf.json" >/dev/null 2>&1
        ip netns del jcniflags
    fi
    ip link del jcniflags0 2>/dev/null
    nft delete chain inet jcni masq_jcniflags 2>/dev/null
    for s in pods4 pods6 local4 local6; do nft delete set inet jcni ${s}_jcniflags 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
"$root/bin/jcni" install --no-aot-cache --dir "$work/bin" --lib-dir "$work/lib" >&2
cat >"$work/conf.json" <<JSON
{"cniVersion": "1.0.0", "name": "jcniflags", "type": "jcni-bridge", "bridge": "jcniflags0", "isGateway": true, "ipMasq": true,
 "ipam": {"type": "host-local", "dataDir": "$work/data", "ranges": [[{"subnet": "10.213.78.0/24"}]]}}
JSON
base="--enable-native-access=ALL-UNNAMED -Xlog:disable -Xlog:all=warning:stderr"
lean="-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData"
# name | flags | AOT cache?
variants=(
  "A|$base|no|defaults (G1, C1+C2)"
  "B|$base $lean|no|SerialGC, C1 only, -UsePerfData"
  "C|$base|yes|defaults + AOT cache"
  "D|$base $lean|yes|SerialGC, C1 only, -UsePerfData + AOT cache"
  "E|$base -XX:+UseSerialGC -Xint -XX:-UsePerfData|yes|SerialGC, -Xint, -UsePerfData + AOT cache"
  "F|$base $lean -Xms8m -Xmx64m|yes|D + -Xms8m -Xmx64m"
  "G|$base $lean -Xss256k -XX:CICompilerCount=1 -XX:+UseCompressedOops|yes|D + -Xss256k, one compiler thread"
)
args=()
for v in "${variants[@]}"; do
    IFS='|' read -r name flags aot label <<<"$v"
    if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $name "* ]]; then continue; fi
    extra=
    if [ "$aot" = yes ]; then
        # the training runs in a network namespace of its own (it refuses the host's), as jcni install runs it
        unshare --net "$java" $flags -XX:AOTCacheOutput="$work/$name.aot" -cp "$work/lib/*" io.jcni.plugins.AotTraining >"$work/$name.train" 2>&1 \
            || { cat "$work/$name.train" >&2; exit 1; }
        CNI_COMMAND=VERSION "$java" $flags -XX:AOTMode=on -XX:AOTCache="$work/$name.aot" -cp "$work/lib/*" \
            io.jcni.plugins.bridge.BridgeMain </dev/null >/dev/null || { echo "cache $name rejected" >&2; exit 1; }
        extra="-XX:AOTCache=$work/$name.aot"
    fi
    printf '#!/bin/sh\nexec %s %s %s -cp "%s/lib/*" io.jcni.plugins.bridge.BridgeMain\n' "$java" "$flags" "$extra" "$work" >"$work/$name"
    chmod +x "$work/$name"
    echo "$name|$label" >>"$work/labels"
    args+=(--prepare "$0 _reset $work $name" -n "$name"
        "env CNI_COMMAND=ADD CNI_CONTAINERID=flags CNI_NETNS=/run/netns/jcniflags CNI_IFNAME=eth0 CNI_PATH=/nonexistent $work/$name <$work/conf.json >/dev/null")
done
load0=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq "$rounds"); do
    echo "round $r/$rounds" >&2
    hyperfine --runs "$runs" --style none --export-json "$work/round-$r.json" "${args[@]}" >/dev/null
done
echo "$(nproc) CPUs, load average $load0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end; $((rounds * runs)) ADDs per row"
echo
python3 - "$work" <<'PY'
import json, glob, sys, statistics
work = sys.argv[1]
labels = dict(l.strip().split("|", 1) for l in open(work + "/labels"))
times = {}
for f in sorted(glob.glob(work + "/round-*.json")):
    for r in json.load(open(f))["results"]:
        times.setdefault(r["command"], []).extend(r["times"])
print("| flags (bridge ADD, ipMasq, host-local) | median ms | p95 ms |")
print("|---|---:|---:|")
for name, t in times.items():
    t = sorted(t)
    p95 = t[min(len(t) - 1, round(0.95 * (len(t) - 1)))]
    print(f"| {name}: {labels[name]} | {statistics.median(t)*1000:.1f} | {p95*1000:.1f} |")
PY
