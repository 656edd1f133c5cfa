#!/usr/bin/env bash
# Classes loaded by one jcni-bridge ADD (bridge + host-local + ipMasq) in a fresh namespace, with and
# without the AOT cache, from -Xlog:class+load. Usage: bench/classes.sh BIN_DIR  (an installed jcni; root)
set -euo pipefail
bin=${1:?usage: bench/classes.sh BIN_DIR}
exe=$bin/jcni-bridge
line=$(grep '^exec ' "$exe")
work=$(mktemp -d /tmp/jcni-classes.XXXXXX)
ns=jcnicls$$
cleanup() {
    set +e
    CNI_COMMAND=DEL CNI_CONTAINERID=cls CNI_NETNS=/run/netns/$ns CNI_IFNAME=eth0 CNI_PATH=$bin "$exe" <"$work/conf.json" >/dev/null 2>&1
    ip netns del $ns 2>/dev/null; ip link del jcnicls0 2>/dev/null
    nft delete chain inet jcni masq_jcnicls 2>/dev/null
    for s in pods4 pods6 local4 local6; do nft delete set inet jcni ${s}_jcnicls 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT
cat >"$work/conf.json" <<JSON
{"cniVersion": "1.0.0", "name": "jcnicls", "type": "jcni-bridge", "bridge": "jcnicls0", "isGateway": true, "ipMasq": true,
 "ipam": {"type": "host-local", "dataDir": "$work/data", "ranges": [[{"subnet": "10.213.79.0/24"}]]}}
JSON
for variant in with-aot-cache without-aot-cache; do
    # the installed exec line, with class+load logging (and without -XX:AOTCache for the second)
    cmd=${line#exec }
    cmd=${cmd% \"\$@\"}
    [ "$variant" = without-aot-cache ] && cmd=$(sed "s/'-XX:AOTCache=[^']*'//" <<<"$cmd")
    ip netns add $ns
    eval "CNI_COMMAND=ADD CNI_CONTAINERID=cls CNI_NETNS=/run/netns/$ns CNI_IFNAME=eth0 CNI_PATH=$bin \
        ${cmd/ -cp / -Xlog:class+load:file=$work/$variant.log -cp }" <"$work/conf.json" >/dev/null
    CNI_COMMAND=DEL CNI_CONTAINERID=cls CNI_NETNS=/run/netns/$ns CNI_IFNAME=eth0 CNI_PATH=$bin "$exe" <"$work/conf.json" >/dev/null
    ip netns del $ns
    total=$(wc -l <"$work/$variant.log")
    shared=$(grep -c 'shared objects file' "$work/$variant.log" || true)
    jar=$(grep -c 'source: file:' "$work/$variant.log" || true)
    gen=$((total - shared - jar))
    echo "| $variant | $total | $shared | $jar | $gen |"
done
