# Sourced by the benchmarks: installs jcni for both of its paths and runs its daemon the way the
# systemd unit does (the installed jars, the installed jvm-options.env), so that what is measured is
# what a node runs.
#
#   jcni_bench_install ROOT WORK   installs twice under WORK:
#       WORK/jcni-daemon/bin  the clients, talking to WORK/jcni.sock (the daemon path)
#       WORK/jcni-alone/bin   the clients with no daemon behind them (the standalone path: the JVM,
#                             with the install-time AOT cache)
#   jcni_daemon_start WORK [PREFIX...]  starts the daemon on WORK/jcni.sock, under PREFIX (e.g. nsenter
#       into a mount namespace); sets JCNI_DAEMON_PID and waits until the socket answers
#   jcni_daemon_stop                     stops it (SIGTERM, then SIGKILL after 10 s)
# Needs: JAVA (a JDK 25 java), set by the caller.

jcni_bench_install() {
    local root=$1 work=$2
    # the socket lives in a directory of root's that no one else can write to (the daemon checks)
    mkdir -p "$work/run" && chmod 700 "$work/run"
    "$root/bin/jcni" install --dir "$work/jcni-daemon/bin" --lib-dir "$work/jcni-daemon/lib" \
        --socket "$work/run/jcni.sock" --no-aot-cache >&2
    "$root/bin/jcni" install --dir "$work/jcni-alone/bin" --lib-dir "$work/jcni-alone/lib" \
        --socket "$work/run/none.sock" >&2
}

jcni_daemon_start() {
    local work=$1
    shift
    (
        # shellcheck disable=SC1091
        . "$work/jcni-daemon/lib/jvm-options.env"
        # shellcheck disable=SC2086
        exec "$@" "$JAVA" $JCNI_DAEMON_JVM_OPTIONS -cp "$work/jcni-daemon/lib/*" io.jcni.daemon.DaemonMain \
            --socket "$work/run/jcni.sock"
    ) >"$work/daemon.log" 2>&1 &
    JCNI_DAEMON_PID=$!
    local i
    for i in $(seq 300); do
        [ -S "$work/run/jcni.sock" ] && return 0
        kill -0 "$JCNI_DAEMON_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "the jcni daemon did not come up; its log:" >&2
    cat "$work/daemon.log" >&2
    return 1
}

jcni_daemon_stop() {
    [ -n "${JCNI_DAEMON_PID:-}" ] || return 0
    kill "$JCNI_DAEMON_PID" 2>/dev/null || true
    local i
    for i in $(seq 100); do
        kill -0 "$JCNI_DAEMON_PID" 2>/dev/null || { JCNI_DAEMON_PID=; return 0; }
        sleep 0.1
    done
    kill -9 "$JCNI_DAEMON_PID" 2>/dev/null || true
    JCNI_DAEMON_PID=
}
