#!/usr/bin/env bash
# The cluster scale benchmark: one real 'jcni agent' (its JVM options from bin/lib/jvm-options.env)
# on a simulated node against a one-member etcd holding 1000, then 5000 leases of fake peers
# (written by LeaseWriter's fill), per backend (vxlan, host-gw): time from the agent's start until
# every peer's route (vxlan: + neighbour + FDB entry) is in the node's kernel, the agent's RSS and
# idle CPU with 5000 peers, and a single new lease's time to route with 5000 peers present.
# Writes docs/benchmark-scale.json and re-renders docs/benchmark.md (its "Cluster scale" section).
#
# Usage (as root): bench/cluster-scale.sh [--quick] [--jfr] [--backends vxlan,host-gw] [--out DIR]
#   --quick     smoke run (200 and 1000 leases, 10 samples, 10 s idle); writes to /tmp/jcni-bench-quick
#               unless --out is given
#   --jfr       record the agent at the largest count with JFR (the .jfr is kept in the work dir)
#   --backends  which backends, comma-separated (default vxlan,host-gw)
#   --out DIR   where benchmark-scale.json (and the re-rendered benchmark.md) go (default: docs/)
# Needs: etcd, nsenter, iproute2, python3. Namespaces are named jsc-<run id>…; the fake peers
# (198.19.0.0/16, pods 10.244.0.0/16 in /29s) exist only as kernel entries in the node's namespace;
# everything is removed at the end, on error and on Ctrl-C.
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
quick= jfr= backends=vxlan,host-gw out=
while [ $# -gt 0 ]; do
    case $1 in
        --quick) quick=1 ;;
        --jfr) jfr=--jfr ;;
        --backends) backends=$2; shift ;;
        --out) out=$2; shift ;;
        -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench/cluster-scale.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
[ "$(id -u)" = 0 ] || { echo "bench/cluster-scale.sh: run as root (it creates namespaces and runs an agent in them)" >&2; exit 1; }
for t in etcd nsenter ip python3 getconf; do
    command -v $t >/dev/null || { echo "bench/cluster-scale.sh: missing: $t" >&2; exit 1; }
done
. "$root/bin/lib/find-java.sh"
jcni_find_java || exit 1
java=$JCNI_JAVA_HOME/bin/java

agent_jar=$(ls "$root"/agent/target/jcni-agent-*.jar 2>/dev/null | head -n 1 || true)
if [ -z "$agent_jar" ] || [ ! -d "$root/agent/target/lib" ]; then
    echo "building jcni (./mvnw package -DskipTests) ..." >&2
    (cd "$root" && JAVA_HOME=$JCNI_JAVA_HOME ./mvnw -q -B -DskipTests package) >&2
    agent_jar=$(ls "$root"/agent/target/jcni-agent-*.jar | head -n 1)
fi
if [ -z "$out" ]; then
    if [ -n "$quick" ]; then out=/tmp/jcni-bench-quick; else out=$root/docs; fi
fi
mkdir -p "$out"
args=(--backends "$backends")
if [ -n "$quick" ]; then args+=(--counts 200,1000 --samples 10 --idle 10); fi

work=$(mktemp -d /tmp/jcni-bench-scale.XXXXXX)
ok=
cleanup() {
    if [ -n "$ok" ] && [ -z "$jfr" ]; then rm -rf "$work"; else echo "bench/cluster-scale.sh: logs kept in $work" >&2; fi
}
trap cleanup EXIT

"$java" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow -XX:+UseSerialGC \
    -cp "$agent_jar:$root/agent/target/lib/*" io.jcni.agent.sim.ClusterScale "${args[@]}" $jfr \
    --out "$out/benchmark-scale.json" --work "$work"

python3 "$root/bench/report.py" "$out" "$out" >/dev/null
ok=1
echo "written: $out/benchmark-scale.json $out/benchmark.md" >&2
