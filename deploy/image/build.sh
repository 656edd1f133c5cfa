#!/usr/bin/env bash
# Builds jcni's node image offline: no base image, no registry, no network. It assembles a root
# file system from this checkout's build output and this machine's own files, then imports it
# with podman:
#
#   /usr/lib/jcni/jre/           a Java runtime jlinked with only the modules the jars need (jdeps)
#   /usr/lib/jcni/bin/jcni       the project's launcher (bin/jcni and bin/lib, unchanged: the JVM
#                                flags live there)
#   /usr/lib/jcni/{cli,agent}/target/   the jars, laid out as bin/jcni expects them; the daemon's jar
#                                carries the native client that 'jcni install' writes out
#   /usr/lib/jcni/bin/install-cni   the DaemonSet's init container (deploy/image/install-cni)
#   /usr/bin/bash, /usr/bin/busybox (+ applets)  bin/jcni is bash; install-cni and bin/jcni use a
#                                few utilities (cp, mv, sed, ls, nsenter for the AOT training)
#   /usr/lib/x86_64-linux-gnu/…  the shared libraries the JVM and bash need (ldd), from this host
#   /etc/passwd, group, nsswitch.conf
#
# The plugins' AOT cache is not in the image: it describes the installed jars at their installed
# paths, so the init container builds it on the node ('jcni install', see docs/kubernetes.md).
#
# Usage: deploy/image/build.sh [--tag NAME] [--rootfs DIR] [--no-compress] [--keep-symbols]
#   --tag NAME      image name (default localhost/jcni:<version of the built jars>)
#   --rootfs DIR    only assemble the root file system into DIR (empty or missing); no podman
#   --no-compress   leave the runtime's module image uncompressed: 15 MB more, the agent and
#                   'jcni install' start ~0.1 s sooner (the plugins load from their AOT cache either way)
#   --keep-symbols  keep libjvm.so's symbol table (~5 MB; native frames named in crash reports)
# Needs: the build (./mvnw -o install -DskipTests or package), a JDK 25 (jlink, jdeps), bash,
# busybox (Debian: busybox-static), tar, ldd; podman unless --rootfs. Run as root (podman's
# storage is root's; the files in the image are root's whoever builds the root fs).
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)
. "$root/bin/lib/find-java.sh"
jcni_find_java || exit 1
jdk=$JCNI_JAVA_HOME

tag= rootfs_only= compress=1 keep_symbols=
while [ $# -gt 0 ]; do
    case "$1" in
        --tag) tag=${2:?--tag needs a NAME}; shift 2 ;;
        --rootfs) rootfs_only=${2:?--rootfs needs a DIR}; shift 2 ;;
        --no-compress) compress=; shift ;;
        --keep-symbols) keep_symbols=1; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "build.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

say() { printf '[build.sh %3ds] %s\n' "$SECONDS" "$*" >&2; }
die() { echo "build.sh: $*" >&2; exit 1; }

for tool in "$jdk/bin/jlink" "$jdk/bin/jdeps"; do
    [ -x "$tool" ] || die "$tool is missing: a full JDK 25 is needed (jlink, jdeps), not a JRE"
done
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || die "busybox is missing (Debian: apt-get install busybox-static)"
ldd "$busybox" >/dev/null 2>&1 && die "$busybox is dynamically linked; a static one is needed (Debian: busybox-static)"
bash_bin=$(readlink -f "$(command -v bash)")
for t in tar ldd unzip sha256sum; do command -v "$t" >/dev/null || die "$t is missing"; done
[ -n "$rootfs_only" ] || command -v podman >/dev/null || die "podman is missing (or give --rootfs DIR)"

cli_jar=$(ls "$root"/cli/target/jcni-cli-*.jar 2>/dev/null | head -n 1 || true)
agent_jar=$(ls "$root"/agent/target/jcni-agent-*.jar 2>/dev/null | head -n 1 || true)
if [ -z "$cli_jar" ] || [ -z "$agent_jar" ] || [ ! -d "$root/cli/target/lib" ] || [ ! -d "$root/agent/target/lib" ]; then
    die "build jcni first (offline, from $root): ./mvnw -o -q install -DskipTests"
fi
version=$(basename "$agent_jar" .jar); version=${version#jcni-agent-}
[ -n "$tag" ] || tag=localhost/jcni:$version

work=$(mktemp -d /var/tmp/jcni-image.XXXXXX)
trap 'rm -rf "$work"' EXIT
if [ -n "$rootfs_only" ]; then
    mkdir -p "$rootfs_only"
    [ -z "$(ls -A "$rootfs_only")" ] || die "--rootfs $rootfs_only is not empty"
    rootfs=$(cd "$rootfs_only" && pwd)
else
    rootfs=$work/rootfs
fi
umask 022

# --- the layout: merged /usr, as Debian ---
mkdir -p "$rootfs"/{usr/bin,usr/sbin,usr/lib,usr/lib64,etc,proc,sys,dev,run,tmp,var/tmp,root}
ln -s usr/bin "$rootfs/bin"
ln -s usr/sbin "$rootfs/sbin"
ln -s usr/lib "$rootfs/lib"
ln -s usr/lib64 "$rootfs/lib64"
chmod 1777 "$rootfs/tmp" "$rootfs/var/tmp"
chmod 0700 "$rootfs/root"
home=$rootfs/usr/lib/jcni

# --- the jars, where bin/jcni looks for them; identical jars are hard links (stored once) ---
say "jars of $version"
mkdir -p "$home/cli/target/lib" "$home/agent/target/lib" "$home/bin/lib"
cp "$cli_jar" "$home/cli/target/"
cp "$root"/cli/target/lib/*.jar "$home/cli/target/lib/"
cp "$agent_jar" "$home/agent/target/"
for j in "$root"/agent/target/lib/*.jar; do
    same=$home/cli/target/lib/$(basename "$j")
    if [ -f "$same" ] && cmp -s "$j" "$same"; then
        ln "$same" "$home/agent/target/lib/"
    else
        cp "$j" "$home/agent/target/lib/"
    fi
done
listing=$(unzip -l "$home/cli/target/lib/"jcni-daemon-*.jar)
grep -q 'io/jcni/daemon/jcni-client$' <<<"$listing" \
    || die "the daemon's jar holds no native client (io/jcni/daemon/jcni-client): was it built with cc?"

# --- the launcher and the init container's script ---
cp "$root/bin/jcni" "$home/bin/jcni"
cp "$root"/bin/lib/* "$home/bin/lib/"   # what bin/jcni sources (find-java.sh, the JVM options)
cp "$root/deploy/image/install-cni" "$home/bin/install-cni"
chmod 0755 "$home/bin/jcni" "$home/bin/install-cni"
ln -s ../lib/jcni/bin/jcni "$rootfs/usr/bin/jcni"
ln -s ../lib/jcni/bin/install-cni "$rootfs/usr/bin/install-cni"

# --- the Java runtime: the modules jdeps finds in every jar ---
# Modular jars (netty, vertx) name modules jdeps cannot resolve on a class path, so it reads the
# classes unpacked without their module-info.
say "jdeps"
mkdir "$work/classes"
for j in "$home"/cli/target/*.jar "$home"/cli/target/lib/*.jar "$home"/agent/target/*.jar "$home"/agent/target/lib/*.jar; do
    unzip -qo "$j" -d "$work/classes" -x 'module-info.class' 'META-INF/versions/*/module-info.class' 2>/dev/null || [ $? -eq 11 ]
done
modules=$("$jdk/bin/jdeps" --multi-release 25 --ignore-missing-deps --print-module-deps -q "$work/classes")
# Loaded by name at run time, which jdeps cannot see: the JNDI DNS provider (gRPC's name resolver
# asks JNDI for SRV/TXT records when an etcd endpoint is a DNS name).
modules=$modules,jdk.naming.dns
say "jlink $modules"
jlink_opts=(--strip-debug --no-header-files --no-man-pages)
[ -n "$compress" ] && jlink_opts+=(--compress=zip-6)
"$jdk/bin/jlink" --add-modules "$modules" "${jlink_opts[@]}" --output "$home/jre"
if [ -z "$keep_symbols" ] && command -v strip >/dev/null; then
    strip --strip-unneeded "$home/jre/lib/server/libjvm.so"
fi
# The JRE's identity: install-cni copies it to the node as /opt/jcni/jre-<id>.
(cd "$home/jre" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-16 > "$home/jre.id"

# --- shells and utilities ---
cp "$busybox" "$rootfs/usr/bin/busybox"
for a in sh env ls head cat cp mv rm ln mkdir touch rmdir chmod readlink realpath dirname basename sed grep sort \
         printf echo test [ true false id uname sleep nsenter mktemp find xargs wc tr cut du df ps; do
    [ -e "$rootfs/usr/bin/$a" ] || ln -s busybox "$rootfs/usr/bin/$a"
done
cp "$bash_bin" "$rootfs/usr/bin/bash"

# --- the shared libraries they need, from this host (ldd), at the same paths ---
say "shared libraries"
copy_libs() {
    local f lib
    for f in "$@"; do
        ldd "$f" 2>/dev/null | awk '/=> \// {print $3} /^[[:space:]]*\/[^ ]*ld-linux/ {print $1}'
    done | sort -u | while read -r lib; do
        case "$lib" in "$rootfs"/*) continue ;; esac
        mkdir -p "$rootfs$(dirname "$lib")"
        [ -e "$rootfs$lib" ] || cp -L "$lib" "$rootfs$lib"
    done
}
mapfile -t elves < <(find "$home/jre" -type f \( -name '*.so' -o -path '*/bin/*' \))
copy_libs "$bash_bin" "${elves[@]}"
# Loaded with dlopen, which ldd cannot see: glibc's unwinder, for threads that exit by cancellation.
gcc_s=$(ldconfig -p 2>/dev/null | awk '/libgcc_s.so.1 .*(x86-64|AArch64)/ && !found {print $NF; found = 1}')
if [ -n "$gcc_s" ]; then
    mkdir -p "$rootfs$(dirname "$gcc_s")"
    cp -L "$gcc_s" "$rootfs$gcc_s"
fi

# --- a minimal /etc ---
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$rootfs/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files dns\n' > "$rootfs/etc/nsswitch.conf"
: > "$rootfs/etc/hosts"
: > "$rootfs/etc/resolv.conf"
printf 'jcni %s\n' "$version" > "$home/VERSION"

say "root file system: $(du -sh "$rootfs" | cut -f1) in $rootfs"
if [ -n "$rootfs_only" ]; then
    trap - EXIT
    rm -rf "$work"
    exit 0
fi

# --- the image: one layer, the launcher as its entry point ---
say "tar"
epoch=$(git -C "$root" log -1 --format=%ct 2>/dev/null || echo 0)
tar --owner=0 --group=0 --numeric-owner --sort=name --mtime="@$epoch" -C "$rootfs" -cf "$work/rootfs.tar" .
say "podman import $tag"
podman import --quiet \
    --change 'ENTRYPOINT ["/usr/lib/jcni/bin/jcni"]' \
    --change 'CMD ["--help"]' \
    --change 'ENV PATH=/usr/lib/jcni/bin:/usr/sbin:/usr/bin' \
    --change 'ENV JAVA_HOME=/usr/lib/jcni/jre' \
    --change 'WORKDIR /' \
    --change "LABEL org.opencontainers.image.title=jcni org.opencontainers.image.version=$version" \
    --message "jcni $version, built offline by deploy/image/build.sh" \
    "$work/rootfs.tar" "$tag" >/dev/null
size=$(podman image inspect --format '{{.Size}}' "$tag")
say "built $tag: $((size / 1024 / 1024)) MiB ($size bytes; the layer tar is $(($(stat -c %s "$work/rootfs.tar") / 1024 / 1024)) MiB)"
echo "$tag"
