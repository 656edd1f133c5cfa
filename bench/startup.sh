#!/usr/bin/env bash
# Start-up cost of a JVM that makes one netlink request (RTM_GETLINK "lo"), with and without a
# JDK 25 AOT cache and with the JVM flags jcni considers; median of N fresh processes each.
# Usage: bench/startup.sh [RUNS]   (as root; needs hyperfine; writes docs/startup-figures.md)
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
. "$root/bin/lib/find-java.sh"
jcni_find_java || exit 1
runs=${1:-30}
command -v hyperfine >/dev/null || { echo "needs hyperfine (apt-get install hyperfine)" >&2; exit 1; }
[ -f "$root/cli/target/jcni-cli-0.1.0-SNAPSHOT.jar" ] || (cd "$root" && JAVA_HOME=$JCNI_JAVA_HOME ./mvnw -q -B -DskipTests package)

java="$JCNI_JAVA_HOME/bin/java"
cp="$root/cli/target/jcni-cli-0.1.0-SNAPSHOT.jar:$root/cli/target/lib/*"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
base="--enable-native-access=ALL-UNNAMED"
lean="$base -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData"
probe="io.jcni.cli.StartupProbe"

# One training run per flag set: the cache must be made with the same module/native-access flags.
"$java" $base -XX:AOTCacheOutput="$work/default.aot" -cp "$cp" $probe >/dev/null 2>&1
"$java" $lean -XX:AOTCacheOutput="$work/lean.aot" -cp "$cp" $probe >/dev/null 2>&1
# Prove the caches are accepted (AOTMode=on fails instead of silently ignoring a bad cache).
"$java" $lean -XX:AOTMode=on -XX:AOTCache="$work/lean.aot" -cp "$cp" $probe >/dev/null

hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/r.json" \
  -n "java -version" "$java -version" \
  -n "probe, default flags" "$java $base -cp $cp $probe" \
  -n "probe, SerialGC+C1" "$java $lean -cp $cp $probe" \
  -n "probe, default flags + AOT cache" "$java $base -XX:AOTCache=$work/default.aot -cp $cp $probe" \
  -n "probe, SerialGC+C1 + AOT cache" "$java $lean -XX:AOTCache=$work/lean.aot -cp $cp $probe" \
  -n "probe, -Xint SerialGC + AOT cache" "$java $base -Xint -XX:+UseSerialGC -XX:-UsePerfData -XX:AOTCache=$work/lean.aot -cp $cp $probe" \
  -n "ip link show lo (iproute2)" "ip link show lo" >&2 || true

python3 - "$work/r.json" "$runs" "$JCNI_JAVA_HOME" <<'PY' | tee "$root/docs/startup-figures.md"
import json, sys, statistics, platform, datetime
data = json.load(open(sys.argv[1]))
print(f"Measured {datetime.date.today()} on {platform.node()} ({platform.machine()}, kernel {platform.release()}), "
      f"JDK {sys.argv[3]}, {sys.argv[2]} runs each after 3 warm-ups (`bench/startup.sh`).\n")
print("| command | median ms | p95 ms |")
print("|---|---:|---:|")
for r in data["results"]:
    t = sorted(r["times"])
    p95 = t[min(len(t) - 1, int(round(0.95 * (len(t) - 1))))]
    print(f"| {r['command']} | {statistics.median(t) * 1000:.1f} | {p95 * 1000:.1f} |")
PY
