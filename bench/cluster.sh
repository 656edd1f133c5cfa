#!/usr/bin/env bash
# The cluster network's benchmark: three simulated nodes running real 'jcni agent's on a three-member
# etcd, once per backend (host-gw, vxlan): pod->pod iperf3 throughput and CPU per Gbit against the
# underlay, convergence from a lease written to etcd to the routes (vxlan: + neighbour + FDB) in the
# other nodes' kernels, and the agent's RSS and idle CPU. Writes docs/benchmark-cluster.json and
# re-renders docs/benchmark.md (its "Cluster network" section) from the JSON files already there;
# the plugin benchmark (bench/run.sh) is not re-run.
#
# Usage (as root): bench/cluster.sh [--quick] [--out DIR]
#   --quick    smoke run (~2 min: one 3 s iperf3 run per path, 5 convergence samples, 10 s idle);
#              writes to /tmp/jcni-bench-quick unless --out is given
#   --out DIR  where benchmark-cluster.json (and the re-rendered benchmark.md) go (default: docs/)
# Needs: etcd, iperf3, nsenter, iproute2, python3. Traffic stays inside the namespaces it creates
# (underlay 198.18.0.0/24, pods 10.244.0.0/16); they are removed at the end, on error and on Ctrl-C.
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
quick=
out=
while [ $# -gt 0 ]; do
    case $1 in
        --quick) quick=--quick ;;
        --out) out=$2; shift ;;
        -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench/cluster.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
[ "$(id -u)" = 0 ] || { echo "bench/cluster.sh: run as root (it creates namespaces and runs agents in them)" >&2; exit 1; }
for t in etcd iperf3 nsenter ip ss python3 getconf; do
    command -v $t >/dev/null || { echo "bench/cluster.sh: missing: $t" >&2; exit 1; }
done
. "$root/bin/lib/find-java.sh"
jcni_find_java || exit 1
java=$JCNI_JAVA_HOME/bin/java

agent_jar=$(ls "$root"/agent/target/jcni-agent-*.jar 2>/dev/null | head -n 1 || true)
cli_jar=$(ls "$root"/cli/target/jcni-cli-*.jar 2>/dev/null | head -n 1 || true)
if [ -z "$agent_jar" ] || [ -z "$cli_jar" ] || [ ! -d "$root/agent/target/lib" ] || [ ! -d "$root/cli/target/lib" ]; then
    echo "building jcni (./mvnw package -DskipTests) ..." >&2
    (cd "$root" && JAVA_HOME=$JCNI_JAVA_HOME ./mvnw -q -B -DskipTests package) >&2
    agent_jar=$(ls "$root"/agent/target/jcni-agent-*.jar | head -n 1)
    cli_jar=$(ls "$root"/cli/target/jcni-cli-*.jar | head -n 1)
fi
if [ -z "$out" ]; then
    if [ -n "$quick" ]; then out=/tmp/jcni-bench-quick; else out=$root/docs; fi
fi
mkdir -p "$out"

work=$(mktemp -d /tmp/jcni-bench-cluster.XXXXXX)
ok=
cleanup() {
    if [ -n "$ok" ]; then rm -rf "$work"; else echo "bench/cluster.sh: did not finish; logs kept in $work" >&2; fi
}
trap cleanup EXIT
# The pods' plugins: the executables forward to the agent's socket on their node.
"$root/bin/jcni" install --dir "$work/cni-bin" --lib-dir "$work/cni-lib" --no-aot-cache >&2

"$java" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow -XX:+UseSerialGC \
    -cp "$agent_jar:$root/agent/target/lib/*" io.jcni.agent.sim.ClusterBench $quick \
    --out "$out/benchmark-cluster.json" --work "$work" --cni-bin "$work/cni-bin" \
    --cli-classpath "$cli_jar:$root/cli/target/lib/*"

# benchmark.md from the JSON files in $out: the plugin benchmark's as it was, plus this section
python3 "$root/bench/report.py" "$out" "$out" >/dev/null
ok=1
echo "written: $out/benchmark-cluster.json $out/benchmark.md" >&2
