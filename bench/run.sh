#!/usr/bin/env bash
# The benchmark: the reference CNI plugins (/usr/lib/cni, Go) and jcni side by side in one interleaved
# run — sequential ADD/CHECK/DEL latency, 50 and 200 parallel ADDs/DELs, ADD latency growth from pod 10
# to pod 1000, peak RSS, pod->pod iperf3 throughput — as docs/benchmark.md (table) and docs/benchmark.svg.
#
# Usage (as root): bench/run.sh [--quick] [--out DIR]
#   --quick            smoke run (~1-2 min, smaller counts); writes to /tmp/jcni-bench-quick unless --out is given
#   --out DIR          where benchmark.md/.svg/.json go (default: docs/ for a full run)
# Environment:
#   JCNI_BIN=DIR         installed jcni plugins to measure (default: 'jcni install' into a temp dir, with AOT cache)
#   JCNI_DAEMON_BIN=DIR  the daemon path: a directory with the native client executables (jcni-bridge, ...)
#                        talking to a running 'jcni daemon'; unset or missing: the daemon rows say "not measured"
#   JCNI_DAEMON_PID=PID  the daemon's pid for its RSS (default: the owner of /run/jcni/jcni.sock, from ss)
#   REF_BIN=DIR          the reference plugins (default /usr/lib/cni)
# Needs: python3, iproute2, nftables, iptables (the reference's ipMasq), iperf3 (apt-get installs it if
# missing), containernetworking-plugins. Everything created is removed at the end, on error and on Ctrl-C.
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
quick=
out=
while [ $# -gt 0 ]; do
    case $1 in
        --quick) quick=--quick ;;
        --out) out=$2; shift ;;
        -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench/run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
[ "$(id -u)" = 0 ] || { echo "bench/run.sh: run as root (it creates namespaces, bridges, NAT rules)" >&2; exit 1; }
ref=${REF_BIN:-/usr/lib/cni}
[ -x "$ref/bridge" ] && [ -x "$ref/host-local" ] || { echo "missing $ref/bridge (apt-get install containernetworking-plugins)" >&2; exit 1; }
if ! command -v iperf3 >/dev/null; then
    echo "installing iperf3 ..." >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends iperf3 >/dev/null
fi
for t in python3 ip nft iptables ss; do command -v $t >/dev/null || { echo "missing: $t" >&2; exit 1; }; done

tmp=$(mktemp -d /tmp/jcni-bench-run.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
if [ -z "${JCNI_BIN:-}" ]; then
    "$root/bin/jcni" install --dir "$tmp/bin" --lib-dir "$tmp/lib" >&2
    export JCNI_BIN=$tmp/bin
fi
# the standalone command is in the executable (a script) or in its sidecar (the native client)
grep -qs -- '-XX:AOTCache=' "$JCNI_BIN/jcni-bridge" "$JCNI_BIN/.jcni-bridge.exec" || echo "note: $JCNI_BIN/jcni-bridge has no AOT cache" >&2
if [ -z "$out" ]; then
    if [ -n "$quick" ]; then out=/tmp/jcni-bench-quick; else out=$root/docs; fi
fi
mkdir -p "$out" "$tmp/raw"
BENCH_OUT=$tmp/raw python3 "$root/bench/bench.py" $quick
python3 "$root/bench/report.py" "$tmp/raw" "$out"
cp "$tmp/raw/benchmark.json" "$out/benchmark.json"
echo "written: $out/benchmark.md $out/benchmark.svg $out/benchmark.json" >&2
exit 0
