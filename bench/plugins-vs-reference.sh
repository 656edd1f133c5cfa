#!/usr/bin/env bash
# ADD and DEL time of the installed jcni-bridge next to the reference /usr/lib/cni/bridge, with
# hyperfine. Same config shape for both (bridge + host-local + isGateway + ipMasq), each on its own
# bridge, subnet, network name and IPAM dataDir. Every timed run starts from a fresh namespace made
# in --prepare (which first DELs the previous attachment); DEL is timed after a --prepare that ADDs.
# The two plugins are interleaved: ROUNDS hyperfine invocations, each timing RUNS of every command.
# Everything created is removed at the end (also on error / Ctrl-C); ip_forward is restored.
#
# Usage: bench/plugins-vs-reference.sh [ROUNDS (default 5)] [RUNS per round (default 6)]
#   JCNI_BIN=DIR  use plugins already installed there instead of a 'jcni install' into a temp dir
# Needs root, hyperfine, jq, the Debian containernetworking-plugins in /usr/lib/cni.
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)

# ---- per-run steps, called by hyperfine's --prepare (kept here so the set-up is in one file) ----
if [ "${1:-}" = _step ]; then
    shift
    work=$1 which=$2 step=$3
    . "$work/$which.env"
    run() { # run the plugin: $1 = verb
        CNI_COMMAND=$1 CNI_CONTAINERID=bench CNI_NETNS=/run/netns/$NS CNI_IFNAME=eth0 CNI_PATH=$CNIPATH \
            "$PLUGIN" <"$work/$which.json" >"$work/$which.out" 2>&1
    }
    case $step in
        reset) # DEL what the previous run left (if anything), then a fresh namespace
            if ip netns list | grep -qw "$NS"; then
                run DEL || { cat "$work/$which.out" >&2; exit 1; }
                ip netns del "$NS"
            fi
            ip netns add "$NS"
            ;;
        reset-add) # fresh namespace with the container attached: what DEL is timed on
            "$0" _step "$work" "$which" reset
            run ADD || { cat "$work/$which.out" >&2; exit 1; }
            ;;
    esac
    exit 0
fi

load0=$(cut -d' ' -f1-3 /proc/loadavg)
rounds=${1:-5}
runs=${2:-6}
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
for t in hyperfine jq ip /usr/lib/cni/bridge /usr/lib/cni/host-local; do
    command -v "$t" >/dev/null || { echo "missing: $t" >&2; exit 1; }
done

work=$(mktemp -d /tmp/jcni-bench.XXXXXX)
fwd=$(cat /proc/sys/net/ipv4/ip_forward)
had_table=$(nft list table inet jcni >/dev/null 2>&1 && echo yes || echo no)
if [ -n "${JCNI_BIN:-}" ]; then
    jbin=$JCNI_BIN
else
    jbin=$work/bin
    "$root/bin/jcni" install --dir "$jbin" --lib-dir "$work/lib" >&2
fi

# name  plugin  bridge  subnet  netns  CNI_PATH
setup() {
    local which=$1 plugin=$2 br=$3 subnet=$4 ns=$5 cnipath=$6
    if ip link show "$br" >/dev/null 2>&1 || ip netns list | grep -qw "$ns" \
        || [ -n "$(ip -4 route show "$subnet")" ] || ip -4 addr | grep -q " ${subnet%.0/24}\."; then
        echo "refusing: $br, netns $ns or $subnet already exist on this host" >&2
        exit 1
    fi
    mkdir -p "$work/data-$which"
    cat >"$work/$which.env" <<EOF
PLUGIN=$plugin
NS=$ns
BR=$br
NET=jcnibench$which
CNIPATH=$cnipath
EOF
    cat >"$work/$which.json" <<EOF
{"cniVersion": "1.0.0", "name": "jcnibench$which", "type": "$(basename "$plugin")",
 "bridge": "$br", "isGateway": true, "ipMasq": true,
 "ipam": {"type": "host-local", "dataDir": "$work/data-$which",
          "ranges": [[{"subnet": "$subnet"}]], "routes": [{"dst": "0.0.0.0/0"}]}}
EOF
}

cleanup() {
    set +e
    for which in j r; do
        [ -f "$work/$which.env" ] || continue
        . "$work/$which.env"
        if ip netns list | grep -qw "$NS"; then
            CNI_COMMAND=DEL CNI_CONTAINERID=bench CNI_NETNS=/run/netns/$NS CNI_IFNAME=eth0 CNI_PATH=$CNIPATH \
                "$PLUGIN" <"$work/$which.json" >/dev/null 2>&1
            ip netns del "$NS"
        fi
        ip link del "$BR" 2>/dev/null
    done
    # jcni's per-network NAT objects (DEL empties the set; the chain and sets stay for the next pod)
    for obj in "chain inet jcni masq_jcnibenchj" "set inet jcni pods4_jcnibenchj" "set inet jcni pods6_jcnibenchj" \
               "set inet jcni local4_jcnibenchj" "set inet jcni local6_jcnibenchj"; do
        nft delete $obj 2>/dev/null
    done
    if [ "$had_table" = no ] && ! nft list table inet jcni 2>/dev/null | grep -qE '^\s*(set|chain) '; then
        nft delete table inet jcni 2>/dev/null
    fi
    echo "$fwd" >/proc/sys/net/ipv4/ip_forward
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

setup j "$jbin/jcni-bridge" jcnibenchj0 10.213.71.0/24 jcnibench-j "$jbin:/usr/lib/cni"
setup r /usr/lib/cni/bridge jcnibenchr0 10.213.72.0/24 jcnibench-r /usr/lib/cni

step="$(readlink -f "$0") _step $work"
timed() { # the hyperfine command line running verb $2 of plugin $1
    . "$work/$1.env"
    echo "CNI_COMMAND=$2 CNI_CONTAINERID=bench CNI_NETNS=/run/netns/$NS CNI_IFNAME=eth0 CNI_PATH=$CNIPATH $PLUGIN <$work/$1.json >/dev/null"
}
for round in $(seq "$rounds"); do
    echo "round $round/$rounds" >&2
    hyperfine --runs "$runs" --style none --export-json "$work/round-$round.json" \
        --prepare "$step j reset" -n jcni-ADD "$(timed j ADD)" \
        --prepare "$step r reset" -n ref-ADD "$(timed r ADD)" \
        --prepare "$step j reset-add" -n jcni-DEL "$(timed j DEL)" \
        --prepare "$step r reset-add" -n ref-DEL "$(timed r DEL)" >/dev/null
done

median() { # median in ms of every run of command $1 over all rounds
    jq -s --arg c "$1" '[.[].results[] | select(.command == $c) | .times[]] | sort
        | (if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end) * 1000' \
        "$work"/round-*.json
}
n=$((rounds * runs))
echo
echo "$(nproc) CPUs, load average $load0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo
echo "| verb ($n runs each) | jcni-bridge | reference bridge | jcni / reference |"
echo "|---|---:|---:|---:|"
for verb in ADD DEL; do
    j=$(median "jcni-$verb")
    r=$(median "ref-$verb")
    awk -v v="$verb" -v j="$j" -v r="$r" 'BEGIN { printf "| %s median | %.1f ms | %.1f ms | %.2f |\n", v, j, r, j / r }'
done
