#!/usr/bin/env bash
# What the JSON layer (jackson-core's streaming parser + our writer) costs a fresh plugin process:
# a no-op main against one that parses a bridge config and writes a result, plain and with an
# AOT cache each. Usage: bench/json-startup.sh [RUNS]  (needs hyperfine; builds test classes).
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
. "$root/bin/lib/find-java.sh"
jcni_find_java || exit 1
runs=${1:-30}
(cd "$root" && JAVA_HOME=$JCNI_JAVA_HOME ./mvnw -q -B -o -DskipTests -pl testkit,netlink,cni test-compile dependency:build-classpath \
    -Dmdep.outputFile=target/cp.txt >/dev/null)
java="$JCNI_JAVA_HOME/bin/java"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
# An AOT cache accepts only jars on the class path, so the classes are jarred first.
"$JCNI_JAVA_HOME/bin/jar" cf "$work/app.jar" -C "$root/cni/target/test-classes" io/jcni/cni/json/JsonStartupProbe.class \
    -C "$root/cni/target/classes" . -C "$root/netlink/target/classes" .
cp="$work/app.jar:$(tr ':' '\n' < "$root/cni/target/cp.txt" | grep jackson-core)"
flags="-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData"
p=io.jcni.cni.json.JsonStartupProbe
"$java" $flags -XX:AOTCacheOutput="$work/noop.aot" -cp "$cp" $p noop >/dev/null 2>&1
"$java" $flags -XX:AOTCacheOutput="$work/json.aot" -cp "$cp" $p >/dev/null 2>&1
hyperfine -N -w 3 -r "$runs" --export-json "$work/r.json" \
  -n "no-op" "$java $flags -cp $cp $p noop" \
  -n "parse config + write result" "$java $flags -cp $cp $p" \
  -n "no-op, AOT cache" "$java $flags -XX:AOTCache=$work/noop.aot -cp $cp $p noop" \
  -n "parse config + write result, AOT cache" "$java $flags -XX:AOTCache=$work/json.aot -cp $cp $p" >&2
python3 - "$work/r.json" <<'PY'
import json, sys, statistics
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"| {r['command']} | {statistics.median(r['times'])*1000:.1f} |")
PY
