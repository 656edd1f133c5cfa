#!/usr/bin/env bash
# The long soak (e2e/src/test/java/io/jcni/e2e/SoakTest.java): 20 pods at once cycling ADD, CHECK
# and DEL of a bridge + portmap network through jcni's runtime and the installed native clients,
# with kill -9 of plugin processes and of the resident daemon and GC runs in between; then prints
# its figures: cycles, kills of each kind, daemon kills and restarts, GC runs, ADD/DEL p50/p99,
# duplicate addresses and leaks found (both must be 0), wall time, and the machine's load.
# bin/test runs the same test with 100 cycles.
#
# Usage (as root): bench/soak.sh [CYCLES (default 2000)] [MAVEN ARGS...]
#   e.g. bench/soak.sh 2000 -o                      offline
#        bench/soak.sh 500 -Djcni.soak.seed=random  other chaos than the fixed seed's
# Everything is built from this tree (-am); the test removes all it creates (namespaces, links, the
# bridge, nftables elements, files), also when it fails. Exit status: the test's.
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
case ${1:-} in
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
cycles=2000
if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then
    cycles=$1
    shift
fi
[ "$(id -u)" = 0 ] || { echo "bench/soak.sh: run as root (the soak creates namespaces, links and nftables elements)" >&2; exit 1; }
. "$root/bin/lib/find-java.sh"
jcni_find_java || exit 1
export JAVA_HOME=$JCNI_JAVA_HOME

tmp=$(mktemp -d /tmp/jcni-soak.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
report=$tmp/report.txt
log=$tmp/maven.log
load0=$(cut -d' ' -f1-3 /proc/loadavg)
cmd=(./mvnw -B -q -pl e2e -am test -Dtest=SoakTest -Dsurefire.failIfNoSpecifiedTests=false
     -Djcni.soak.cycles="$cycles" -Djcni.soak.report="$report" "$@")
echo "bench/soak.sh: ${cmd[*]}" >&2
cd "$root"
# the whole log to a file, the soak's progress lines ("[soak] 200 of 2000 cycles after …") to the terminal
set +e
"${cmd[@]}" 2>&1 | tee "$log" | grep --line-buffered '^\[soak\] [0-9]' >&2
status=${PIPESTATUS[0]}
set -e
if [ -s "$report" ]; then
    cat "$report"
else
    echo "bench/soak.sh: the soak wrote no figures; the end of its log:" >&2
    tail -60 "$log" >&2
fi
echo "  load average        $load0 before, $(cut -d' ' -f1-3 /proc/loadavg) after ($(nproc) CPUs)"
if [ "$status" -ne 0 ] && [ -s "$report" ]; then
    echo "bench/soak.sh: the soak failed (exit $status); the end of its log:" >&2
    tail -30 "$log" >&2
fi
exit "$status"
