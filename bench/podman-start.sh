#!/usr/bin/env bash
# Container start time under podman (CNI backend): `podman run --rm --network N IMAGE true` on three
# networks of the same shape (bridge + host-local + isGateway + ipMasq, then loopback), each on its own
# bridge, subnet and IPAM dataDir, measured in one run, interleaved:
#   ref     the reference plugins (/usr/lib/cni)
#   daemon  jcni's clients with a `jcni daemon` behind them, started by this script as the systemd unit
#           runs it (the installed jars and JVM options)
#   alone   jcni's clients with no daemon: the standalone path (a JVM per exec, with the AOT cache)
#   none    `--network none`: no CNI at all, podman's own cost, the floor any plugin adds to
# It also counts, in one more untimed start per network, the plugin executables podman exec'd
# (strace), by plugin and CNI_COMMAND. A private podman (containers.conf and storage.conf under a
# temp dir), an image imported offline from Debian's busybox-static. Everything created is removed at
# the end (also on error / Ctrl-C).
#
# Usage: bench/podman-start.sh [RUNS per network (default 20)] [--json FILE]
# Needs root, podman, runc, strace, busybox-static, /usr/lib/cni (containernetworking-plugins), a JDK 25.
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
. "$root/bench/lib/container-start.sh"
. "$root/bench/lib/jcni-daemon.sh"
start_args "$0" 16 podman runc strace /bin/busybox /usr/lib/cni/bridge -- "$@"
. "$root/bin/lib/find-java.sh"
jcni_find_java
JAVA=$JCNI_JAVA_HOME/bin/java
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
work=$(mktemp -d /tmp/jcni-podman-bench.XXXXXX)
tag=$(printf '%04x' $((RANDOM % 65536)))
keys="ref daemon alone"
declare -A net bridge prefix dirs
for k in $keys; do net[$k]=jcpb$k$tag; bridge[$k]=jcpb${k:0:1}$tag; done
prefix=([ref]="" [daemon]=jcni- [alone]=jcni-)
dirs=([ref]=/usr/lib/cni [daemon]=$work/jcni-daemon/bin:/usr/lib/cni [alone]=$work/jcni-alone/bin:/usr/lib/cni)
export CONTAINERS_STORAGE_CONF=$work/storage.conf
cleanup() {
    CONTAINERS_CONF=$work/containers-ref.conf podman rm -a -f -t 0 >/dev/null 2>&1 || true
    CONTAINERS_CONF=$work/containers-ref.conf podman rmi -a -f >/dev/null 2>&1 || true
    jcni_daemon_stop
    for k in $keys; do
        ip link del "${bridge[$k]}" 2>/dev/null || true
        nft delete chain inet jcni "masq_${net[$k]}" 2>/dev/null || true
        for s in pods4 pods6 local4 local6; do nft delete set inet jcni "${s}_${net[$k]}" 2>/dev/null || true; done
    done
    # the reference bridge's ipMasq: per-container chains are removed by DEL; the table stays (shared)
    grep " $work/" /proc/self/mounts | cut -d' ' -f2 | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

jcni_bench_install "$root" "$work"
busybox_rootfs "$work"
for k in $keys; do
    # a configuration directory per network: podman validates every network it finds there (a VERSION
    # exec per plugin), which would add the other networks' execs to this one's
    mkdir -p "$work/net.d-$k"
    bench_conflist "${net[$k]}" "${prefix[$k]}" "${bridge[$k]}" "$(pick_subnet)" "$work/ipam" >"$work/net.d-$k/${net[$k]}.conflist"
    # one containers.conf per network: its plugin directories and its configuration directory
    cat >"$work/containers-$k.conf" <<CONF
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
cni_plugin_dirs = [$(echo "${dirs[$k]}" | sed 's/\([^:]*\)/"\1"/g; s/:/, /g')]
network_config_dir = "$work/net.d-$k"
CONF
    printf '#!/bin/sh\nexec env CONTAINERS_CONF=%s CONTAINERS_STORAGE_CONF=%s podman run --rm --network %s localhost/jcni-bench:1 true\n' \
        "$work/containers-$k.conf" "$work/storage.conf" "${net[$k]}" >"$work/start-$k"
    chmod +x "$work/start-$k"
done
printf '#!/bin/sh\nexec env CONTAINERS_CONF=%s CONTAINERS_STORAGE_CONF=%s podman run --rm --network none localhost/jcni-bench:1 true\n' \
    "$work/containers-ref.conf" "$work/storage.conf" >"$work/start-none"
chmod +x "$work/start-none"
cat >"$work/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$work/storage/root"
runroot = "$work/storage/run"
CONF
CONTAINERS_CONF=$work/containers-ref.conf podman import "$work/rootfs.tar" localhost/jcni-bench:1 >/dev/null
jcni_daemon_start "$work"
version=$(podman version -f '{{.Client.Version}}')
echo "podman $version: $runs runs per network, interleaved ..." >&2
# shellcheck disable=SC2086
time_runs "$runs" "$work" $keys none
for k in $keys; do count_execs "$work" "$k" "${dirs[$k]}"; done
# shellcheck disable=SC2086
write_json "$work" "$work/result.json" podman "$version" "$runs" $keys none
print_summary "$work/result.json"
[ -z "$json" ] || cp "$work/result.json" "$json"
