#!/usr/bin/env bash
# The daemon's resident set (RSS, not heap) with the JVM options it ships with (bin/lib/jvm-options.env):
# at idle, then after ADDs of 250 and 1000 pods through the native client, then after their DELs.
#
# Usage (as root): bench/daemon-rss.sh [PODS...]     (default: 250 1000)
# Creates namespaces jrss-p<i>, bridge jrss-br0, subnet 10.216.0.0/16 and removes them at the end.
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
. "$root/bin/lib/find-java.sh"
jcni_find_java || exit 1
. "$root/bin/lib/jvm-options.env"
[ "$(id -u)" = 0 ] || { echo "bench/daemon-rss.sh: run as root" >&2; exit 1; }
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(250 1000)

tmp=$(mktemp -d /tmp/jcni-rss.XXXXXX)
chmod 755 "$tmp"
pid= made=0
cleanup() {
    set +e # remove everything, whatever fails (the daemon's own exit status included)
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    for i in $(seq "$made"); do ip netns del "jrss-p$i" 2>/dev/null || true; done
    ip link del jrss-br0 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
"$root/bin/jcni" install --dir "$tmp/bin" --lib-dir "$tmp/lib" --socket "$tmp/d.sock" --no-aot-cache >&2
# shellcheck disable=SC2086 # the options are words
"$JCNI_JAVA_HOME/bin/java" $JCNI_DAEMON_JVM_OPTIONS -cp "$tmp/lib/*" io.jcni.daemon.DaemonMain --socket "$tmp/d.sock" \
    >"$tmp/daemon.log" 2>&1 &
pid=$!
for _ in $(seq 200); do [ -S "$tmp/d.sock" ] && break; sleep 0.05; done
[ -S "$tmp/d.sock" ] || { cat "$tmp/daemon.log" >&2; exit 1; }
mkdir -m 755 "$tmp/data"
conf='{"cniVersion":"1.0.0","name":"jrssnet","type":"bridge","bridge":"jrss-br0","isGateway":true,"ipMasq":true,
"ipam":{"type":"host-local","dataDir":"'$tmp/data'","ranges":[[{"subnet":"10.216.0.0/16"}]]}}'
call() { # VERB i
    echo "$conf" | CNI_COMMAND=$1 CNI_CONTAINERID=rss$2 CNI_NETNS=/run/netns/jrss-p$2 CNI_IFNAME=eth0 \
        CNI_PATH="$tmp/bin" JCNI_SOCKET="$tmp/d.sock" "$tmp/bin/jcni-bridge" >/dev/null || echo "$1 of pod $2 failed" >&2
}
kib() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$pid/status"; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
echo "daemon JVM options: $JCNI_DAEMON_JVM_OPTIONS"
echo "idle: RSS $(mib "$(kib VmRSS)") MiB"
for n in "${steps[@]}"; do
    while [ "$made" -lt "$n" ]; do
        made=$((made + 1))
        ip netns add "jrss-p$made"
        call ADD "$made"
    done
    echo "$n pods: RSS $(mib "$(kib VmRSS)") MiB, peak $(mib "$(kib VmHWM)") MiB"
done
for i in $(seq "$made"); do call DEL "$i"; done
echo "after the DELs: RSS $(mib "$(kib VmRSS)") MiB, peak $(mib "$(kib VmHWM)") MiB"
