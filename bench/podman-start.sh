#!/usr/bin/env bash
# Container start time under podman (4.3, CNI backend) with jcni's network and with the reference
# plugins' network, measured in one run, interleaved, medians: `podman run --rm --network N IMAGE true`.
# Same conflist shape for both (bridge + host-local + isGateway + ipMasq, then loopback), each on its
# own bridge, subnet and IPAM dataDir; a private podman (containers.conf, storage.conf under a temp dir,
# the same settings as e2e/PodmanE2eTest), an image imported offline from Debian's busybox-static.
# Everything created is removed at the end (also on error / Ctrl-C).
#
# Usage: bench/podman-start.sh [RUNS per network (default 20)]
# Needs root, podman, runc, busybox-static, /usr/lib/cni (containernetworking-plugins).
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
runs=${1:-20}
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
for t in podman runc /bin/busybox /usr/lib/cni/bridge; do
    command -v "$t" >/dev/null || { echo "missing: $t" >&2; exit 1; }
done
load0=$(cut -d' ' -f1-3 /proc/loadavg)
work=$(mktemp -d /tmp/jcni-podman-bench.XXXXXX)
tag=$(printf '%04x' $((RANDOM % 65536)))
jnet=jcnibenchj$tag rnet=jcnibenchr$tag jbr=jcbj$tag rbr=jcbr$tag
export CONTAINERS_CONF=$work/containers.conf CONTAINERS_STORAGE_CONF=$work/storage.conf
cleanup() {
    podman rm -a -f -t 0 >/dev/null 2>&1 || true
    podman rmi -a -f >/dev/null 2>&1 || true
    ip link del "$jbr" 2>/dev/null || true
    ip link del "$rbr" 2>/dev/null || true
    nft delete chain inet jcni "masq_$jnet" 2>/dev/null || true
    for s in pods4 pods6 local4 local6; do nft delete set inet jcni "${s}_$jnet" 2>/dev/null || true; done
    # the reference bridge's ipMasq: per-container chains are removed by DEL; the table stays (shared)
    grep " $work/" /proc/self/mounts | cut -d' ' -f2 | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

"$root/bin/jcni" install --dir "$work/jcni-bin" --lib-dir "$work/lib" >&2
mkdir -p "$work/net.d" "$work/rootfs/bin" "$work/rootfs/etc" "$work/ipam"
cp /bin/busybox "$work/rootfs/bin/"
for a in sh true sleep; do ln -s busybox "$work/rootfs/bin/$a"; done
tar --owner=0 --group=0 -C "$work/rootfs" -cf "$work/rootfs.tar" .
# subnets: two free 10.2xx.y.0/24 (no route of the host in 10.0.0.0/8 overlapping them)
pick() { while :; do local s="10.$((200 + RANDOM % 50)).$((RANDOM % 256))"; ip -4 route show table all | grep -q "^$s\." || { echo "$s"; return; }; done; }
js=$(pick); rs=$(pick); while [ "$rs" = "$js" ]; do rs=$(pick); done
conf() { # name type-prefix bridge subnet
    cat <<JSON
{"cniVersion": "1.0.0", "name": "$1", "plugins": [
  {"type": "${2}bridge", "bridge": "$3", "isGateway": true, "ipMasq": true,
   "ipam": {"type": "${2}host-local", "dataDir": "$work/ipam", "ranges": [[{"subnet": "$4.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "${2}loopback"}]}
JSON
}
conf "$jnet" jcni- "$jbr" "$js" >"$work/net.d/$jnet.conflist"
conf "$rnet" "" "$rbr" "$rs" >"$work/net.d/$rnet.conflist"
cat >"$work/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
events_logger = "file"
events_logfile_path = "$work/events.log"
tmp_dir = "$work/tmp"
[network]
network_backend = "cni"
cni_plugin_dirs = ["$work/jcni-bin", "/usr/lib/cni"]
network_config_dir = "$work/net.d"
CONF
cat >"$work/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$work/storage/root"
runroot = "$work/storage/run"
CONF
podman import "$work/rootfs.tar" localhost/jcni-bench:1 >/dev/null
echo "podman $(podman version -f '{{.Client.Version}}'), $(nproc) CPUs, load $load0, $runs runs per network, interleaved" >&2
# Interleaved (jcni, reference, jcni, …) so load changes on a shared machine hit both alike; 2 warm-up rounds.
t() { local s e; s=$(date +%s%N); podman run --rm --network "$1" localhost/jcni-bench:1 true >/dev/null; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
for i in 1 2; do t "$jnet" >/dev/null; t "$rnet" >/dev/null; done
for i in $(seq "$runs"); do t "$jnet" >>"$work/jcni.ms"; t "$rnet" >>"$work/ref.ms"; done
stats() { sort -n "$1" | awk '{a[NR]=$1; s+=$1} END {m = NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "median %d ms, mean %d ms, min %d ms, max %d ms (%d runs)\n", m, s/NR, a[1], a[NR], NR}'; }
echo "podman run --rm, jcni network      (jcni-bridge + jcni-host-local + jcni-loopback): $(stats "$work/jcni.ms")"
echo "podman run --rm, reference network (/usr/lib/cni bridge + host-local + loopback):  $(stats "$work/ref.ms")"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
