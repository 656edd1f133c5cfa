#!/usr/bin/env bash
# Container start time under containerd: `ctr run --cni --rm IMAGE ID true` on three networks of the
# same shape (bridge + host-local + isGateway + ipMasq, then loopback), measured in one run,
# interleaved, as bench/podman-start.sh does for podman:
#   ref     the reference plugins (/usr/lib/cni)
#   daemon  jcni's clients with a `jcni daemon` behind them, started by this script as the systemd unit
#           runs it (the installed jars and JVM options)
#   alone   jcni's clients with no daemon: the standalone path
#   none    no --cni: no CNI at all, ctr's own cost, the floor any plugin adds to
# plus, in one more untimed start per network, the plugin executables ctr exec'd (strace).
#
# A private containerd (root, state and socket under a temp dir, the CRI plugin off, the native
# snapshotter) and an OCI image made offline from Debian's busybox-static. ctr reads its CNI
# configuration from the fixed /etc/cni/net.d and its plugins from /opt/cni/bin, so each network gets
# a mount namespace of its own in which its directories are bind-mounted there (the host's own are never
# written; missing mount points are created and removed again). The daemon runs in the daemon network's
# mount namespace: it serves only callers that see the same files it does.
#
# Usage: bench/containerd-start.sh [RUNS per network (default 20)] [--json FILE]
# Needs root, containerd, ctr, containerd-shim-runc-v2, runc, strace, unshare, nsenter, busybox-static,
# /usr/lib/cni (containernetworking-plugins), a JDK 25.
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
. "$root/bench/lib/container-start.sh"
. "$root/bench/lib/jcni-daemon.sh"
start_args "$0" 20 containerd ctr containerd-shim-runc-v2 runc strace unshare nsenter sha256sum /bin/busybox /usr/lib/cni/bridge -- "$@"
. "$root/bin/lib/find-java.sh"
jcni_find_java
JAVA=$JCNI_JAVA_HOME/bin/java
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
work=$(mktemp -d /tmp/jcni-containerd-bench.XXXXXX)
tag=$(printf '%04x' $((RANDOM % 65536)))
namespace=jcnibench$tag
image=localhost/jcni-bench:1
keys="ref daemon alone"
declare -A net bridge prefix bin
for k in $keys; do net[$k]=jccb$k$tag; bridge[$k]=jccb${k:0:1}$tag; done
prefix=([ref]="" [daemon]=jcni- [alone]=jcni-)
bin=([ref]=/usr/lib/cni [daemon]=$work/jcni-daemon/bin [alone]=$work/jcni-alone/bin)
made_dirs=()
containerd_pid=
cleanup() {
    set +e
    jcni_daemon_stop
    if [ -n "$containerd_pid" ]; then
        for c in $(ctr --address "$work/containerd.sock" --namespace "$namespace" containers ls -q 2>/dev/null); do
            ctr --address "$work/containerd.sock" --namespace "$namespace" task kill -s KILL "$c" >/dev/null 2>&1
            ctr --address "$work/containerd.sock" --namespace "$namespace" containers rm "$c" >/dev/null 2>&1
        done
        kill "$containerd_pid" 2>/dev/null; wait "$containerd_pid" 2>/dev/null
    fi
    for k in $keys; do
        ip link del "${bridge[$k]}" 2>/dev/null
        nft delete chain inet jcni "masq_${net[$k]}" 2>/dev/null
        for s in pods4 pods6 local4 local6; do nft delete set inet jcni "${s}_${net[$k]}" 2>/dev/null; done
    done
    grep " $work" /proc/self/mounts | cut -d' ' -f2 | sort -r | xargs -r -n1 umount -l 2>/dev/null
    for d in "${made_dirs[@]}"; do rmdir "$d" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

jcni_bench_install "$root" "$work"
# ctr's fixed directories must exist as mount points; those made here are removed at the end
for d in /etc/cni/net.d /opt/cni/bin; do
    missing=() p=$d
    while [ ! -e "$p" ]; do missing+=("$p"); p=$(dirname "$p"); done # deepest first, as they are removed
    mkdir -p "$d"
    made_dirs+=("${missing[@]}")
done
# persistent mount namespaces need a private mount to live on
mkdir -p "$work/ns"
mount --bind "$work/ns" "$work/ns"
mount --make-private "$work/ns"
for k in $keys; do
    mkdir -p "$work/net.d-$k"
    bench_conflist "${net[$k]}" "${prefix[$k]}" "${bridge[$k]}" "$(pick_subnet)" "$work/ipam" >"$work/net.d-$k/10-${net[$k]}.conflist"
    touch "$work/ns/$k"
    unshare --mount="$work/ns/$k" --propagation private \
        sh -c "mount --bind '$work/net.d-$k' /etc/cni/net.d && mount --bind '${bin[$k]}' /opt/cni/bin"
    printf '#!/bin/sh\nexec nsenter --mount=%s ctr --address %s --namespace %s run --cni --rm --snapshotter native %s "b$(date +%%s%%N)" true\n' \
        "$work/ns/$k" "$work/containerd.sock" "$namespace" "$image" >"$work/start-$k"
    chmod +x "$work/start-$k"
done
printf '#!/bin/sh\nexec ctr --address %s --namespace %s run --rm --snapshotter native %s "b$(date +%%s%%N)" true\n' \
    "$work/containerd.sock" "$namespace" "$image" >"$work/start-none"
chmod +x "$work/start-none"

cat >"$work/config.toml" <<TOML
version = 2
root = "$work/root"
state = "$work/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$work/containerd.sock"
[ttrpc]
  address = "$work/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
TOML
containerd --config "$work/config.toml" >"$work/containerd.log" 2>&1 &
containerd_pid=$!
for i in $(seq 200); do
    ctr --address "$work/containerd.sock" version >/dev/null 2>&1 && break
    sleep 0.1
done

# the image: an OCI layout whose only layer is the busybox root filesystem
busybox_rootfs "$work"
oci=$work/oci
mkdir -p "$oci/blobs/sha256"
layer=$(sha256sum "$work/rootfs.tar" | cut -d' ' -f1)
cp "$work/rootfs.tar" "$oci/blobs/sha256/$layer"
printf '{"architecture":"amd64","os":"linux","config":{"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$layer" >"$work/config.json"
config=$(sha256sum "$work/config.json" | cut -d' ' -f1)
cp "$work/config.json" "$oci/blobs/sha256/$config"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%d}]}' \
    "$config" "$(stat -c %s "$work/config.json")" "$layer" "$(stat -c %s "$work/rootfs.tar")" >"$work/manifest.json"
manifest=$(sha256sum "$work/manifest.json" | cut -d' ' -f1)
cp "$work/manifest.json" "$oci/blobs/sha256/$manifest"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"1"}}]}' \
    "$manifest" "$(stat -c %s "$work/manifest.json")" "$image" >"$oci/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' >"$oci/oci-layout"
tar --owner=0 --group=0 --numeric-owner -C "$oci" -cf "$work/image.tar" .
ctr --address "$work/containerd.sock" --namespace "$namespace" image import --snapshotter native "$work/image.tar" >/dev/null

jcni_daemon_start "$work" nsenter --mount="$work/ns/daemon"
version=$(ctr --version | awk '{print $3}')
echo "containerd $version: $runs runs per network, interleaved ..." >&2
# shellcheck disable=SC2086
time_runs "$runs" "$work" $keys none
for k in $keys; do count_execs "$work" "$k" /opt/cni/bin; done
# shellcheck disable=SC2086
write_json "$work" "$work/result.json" containerd "$version" "$runs" $keys none
print_summary "$work/result.json"
[ -z "$json" ] || cp "$work/result.json" "$json"
