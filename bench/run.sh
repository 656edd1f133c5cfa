#!/usr/bin/env bash
# The benchmark: the reference CNI plugins (/usr/lib/cni, Go) and jcni (its standalone path and its
# daemon path) side by side in one interleaved run — sequential ADD/CHECK/DEL latency, 50 and 200
# parallel ADDs/DELs, ADD and DEL latency growth from pod 10 to pod 1000, the daemon's RSS, pod->pod
# iperf3 throughput — then container start under podman and containerd (bench/podman-start.sh,
# bench/containerd-start.sh) and one agent against 1000 and 5000 leases (bench/cluster-scale.sh), as
# docs/benchmark.md (tables), docs/benchmark.svg and the raw JSON.
#
# Usage (as root): bench/run.sh [--quick] [--out DIR]
#   --quick            smoke run (a few minutes, smaller counts); writes to /tmp/jcni-bench-quick unless --out is given
#   --out DIR          where benchmark.md/.svg/.json go (default: docs/ for a full run)
# The daemon path is measured with a `jcni daemon` this script starts as the systemd unit runs it (the
# installed jars, the installed JVM options), on a socket of its own; it is stopped at the end.
# Environment:
#   REF_BIN=DIR          the reference plugins (default /usr/lib/cni)
#   BENCH_SKIP_RUNTIMES=1  leave out the podman and containerd rows
#   BENCH_SKIP_SCALE=1     leave out the cluster scale rows
# Needs: python3, iproute2, nftables, iptables (the reference's ipMasq), iperf3 (apt-get installs it if
# missing), containernetworking-plugins; for the container rows podman, containerd, runc, strace and
# busybox-static; for the scale rows etcd. Everything created is removed at the end, on error and on Ctrl-C.
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
quick=
out=
while [ $# -gt 0 ]; do
    case $1 in
        --quick) quick=--quick ;;
        --out) out=$2; shift ;;
        -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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

. "$root/bin/lib/find-java.sh"
jcni_find_java
JAVA=$JCNI_JAVA_HOME/bin/java
. "$root/bench/lib/jcni-daemon.sh"
tmp=$(mktemp -d /tmp/jcni-bench-run.XXXXXX)
trap 'jcni_daemon_stop; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
jcni_bench_install "$root" "$tmp"
export JCNI_BIN=$tmp/jcni-alone/bin JCNI_DAEMON_BIN=$tmp/jcni-daemon/bin
# the standalone command is in the native client's sidecar
grep -qs -- '-XX:AOTCache=' "$JCNI_BIN/.jcni-bridge.exec" || echo "note: $JCNI_BIN/jcni-bridge has no AOT cache" >&2
if [ -z "$out" ]; then
    if [ -n "$quick" ]; then out=/tmp/jcni-bench-quick; else out=$root/docs; fi
fi
mkdir -p "$out" "$tmp/raw"
jcni_daemon_start "$tmp"
export JCNI_DAEMON_PID
BENCH_OUT=$tmp/raw python3 "$root/bench/bench.py" $quick
jcni_daemon_stop
if [ -z "${BENCH_SKIP_RUNTIMES:-}" ]; then
    runs=20
    [ -n "$quick" ] && runs=4
    for rt in podman containerd; do
        if command -v "$rt" >/dev/null; then
            "$root/bench/$rt-start.sh" "$runs" --json "$tmp/raw/benchmark-$rt.json" >&2
        else
            echo "container start under $rt: not measured ($rt is not installed)" >&2
        fi
    done
fi
if [ -z "${BENCH_SKIP_SCALE:-}" ]; then
    if command -v etcd >/dev/null; then
        "$root/bench/cluster-scale.sh" $quick --out "$tmp/raw" >&2
    else
        echo "cluster scale: not measured (etcd is not installed)" >&2
    fi
fi
python3 "$root/bench/report.py" "$tmp/raw" "$out"
for f in "$tmp"/raw/benchmark*.json; do cp "$f" "$out/"; done
echo "written: $out/benchmark.md $out/benchmark.svg and the JSON beside them" >&2
exit 0
