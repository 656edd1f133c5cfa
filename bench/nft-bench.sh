#!/bin/sh
# Times one nft element add+delete batch: jcni's netlink code in a warm JVM, `nft -f` (a fork),
# and the first operation of a fresh JVM (plain, tuned, tuned + AOT cache). Run as root from
# the repository after `./mvnw -q -pl testkit,netlink test-compile` (bench/nft-bench.sh). Needs hyperfine. Uses namespace jnfbench.
set -eu
cd "$(dirname "$0")/../netlink"
JB=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin
RUNS=${RUNS:-30}
NS=jnfbench
T=$(mktemp -d)
trap 'ip netns del $NS 2>/dev/null || true; rm -rf "$T"' EXIT
ip netns add $NS
ip netns exec $NS nft -f - <<'NFT'
add table ip jnfbench
add set ip jnfbench pods { type ipv4_addr; }
NFT
printf 'add element ip jnfbench pods { 10.1.0.2 }\ndelete element ip jnfbench pods { 10.1.0.2 }\n' > "$T/batch.nft"
"$JB/jar" cf "$T/main.jar" -C target/classes .
"$JB/jar" cf "$T/bench.jar" -C target/test-classes io/jcni/netlink/nft/NftBench.class
CP="$T/main.jar:$T/bench.jar"
NA=--enable-native-access=ALL-UNNAMED
TUNED="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData"
ip netns exec $NS "$JB/java" $NA -XX:AOTCacheOutput="$T/nft.aot" -cp "$CP" io.jcni.netlink.nft.NftBench once jnfbench >/dev/null 2>&1
AOT="-XX:AOTCache=$T/nft.aot -XX:AOTMode=on -Xint -XX:+UseSerialGC -XX:-UsePerfData"
uptime
echo "== (a) warm JVM, $RUNS runs after 2000 warm-up batches"
ip netns exec $NS "$JB/java" $NA -cp "$CP" io.jcni.netlink.nft.NftBench warm jnfbench "$RUNS"
echo "== (b), (c) whole processes (hyperfine medians)"
ip netns exec $NS hyperfine -N -w 3 -r "$RUNS" --export-json "$T/hf.json" \
  -n "nft -f (add+delete)" "nft -f $T/batch.nft" \
  -n "java noop" "$JB/java $NA -cp $CP io.jcni.netlink.nft.NftBench noop" \
  -n "java once" "$JB/java $NA -cp $CP io.jcni.netlink.nft.NftBench once jnfbench" \
  -n "java tuned noop" "$JB/java $NA $TUNED -cp $CP io.jcni.netlink.nft.NftBench noop" \
  -n "java tuned once" "$JB/java $NA $TUNED -cp $CP io.jcni.netlink.nft.NftBench once jnfbench" \
  -n "java aot noop" "$JB/java $NA $AOT -cp $CP io.jcni.netlink.nft.NftBench noop" \
  -n "java aot once" "$JB/java $NA $AOT -cp $CP io.jcni.netlink.nft.NftBench once jnfbench" >/dev/null
python3 -c "
import json,sys
for r in json.load(open(sys.argv[1]))['results']: print('%-22s median %7.2f ms' % (r['command'], r['median']*1000))" "$T/hf.json"
echo "== (c) in-process: main() to end of first batch = socket open + batch, $RUNS fresh JVMs each"
for opts in "" "$TUNED" "$AOT"; do
  for i in $(seq "$RUNS"); do ip netns exec $NS "$JB/java" $NA $opts -cp "$CP" io.jcni.netlink.nft.NftBench first jnfbench; done > "$T/first.txt"
  python3 -c "
import statistics as s,sys
rows=[list(map(int,l.split())) for l in open(sys.argv[1])]
m=[s.median(r[i] for r in rows)/1000 for i in range(3)]
print('%-8s median ms: total %.1f = socket open %.1f + first batch %.1f' % (sys.argv[2], *m))" "$T/first.txt" "$(echo "$opts" | grep -q AOT && echo aot || { [ -n "$opts" ] && echo tuned || echo plain; })"
done
uptime
