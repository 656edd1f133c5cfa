package io.jcni.plugins.bridge;

import static io.jcni.plugins.bridge.BridgeTests.assertClean;
import static io.jcni.plugins.bridge.BridgeTests.config;
import static io.jcni.plugins.bridge.BridgeTests.ok;
import static io.jcni.plugins.testing.PluginFixture.call;
import static io.jcni.plugins.testing.PluginFixture.env;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jcni.plugins.testing.PluginFixture;
import io.jcni.testkit.Jars;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * kill -9 of the real plugin process (java … BridgeMain) at instants spread over its whole run,
 * during ADD and during DEL; then a DEL (without prevResult: the harder case) must succeed and
 * leave nothing — no host veth, only lo in the pod, no reservation, no temp file, no NAT element.
 */
class BridgeCrashTest {
    static final int TRIALS = 40;
    static final int FOCUSED = 16;
    static PluginFixture f;
    static String ns;
    static String cfg;
    static final Random RANDOM = new Random();
    static final long SEED = RANDOM.nextLong();

    @BeforeAll
    static void setUp() {
        RANDOM.setSeed(SEED);
        f = new PluginFixture("bc");
        ns = f.netns("p");
        cfg = config(f, "1.1.0");
    }

    @AfterAll
    static void tearDown() {
        f.close();
    }

    static Process start(Map<String, String> cniEnv, String stdin) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(
                Jars.javaCommand(List.of("-Xshare:auto", "-XX:TieredStopAtLevel=1"), BridgeMain.class.getName()));
        pb.environment().putAll(cniEnv);
        pb.redirectErrorStream(true);
        Process p = pb.start();
        try (OutputStream in = p.getOutputStream()) {
            in.write(stdin.getBytes(StandardCharsets.UTF_8));
        }
        return p;
    }

    /** One uninterrupted run: its duration in ns; asserts it succeeded. */
    static long timed(Map<String, String> env) throws Exception {
        long t0 = System.nanoTime();
        Process p = start(env, cfg);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        long t = System.nanoTime() - t0;
        assertEquals(0, p.exitValue(), out);
        return t;
    }

    /** Starts the plugin and SIGKILLs it after {@code delayNs}; true if it was killed before it finished. */
    static boolean killAfter(Map<String, String> env, long delayNs) throws Exception {
        Process p = start(env, cfg);
        long deadline = System.nanoTime() + delayNs;
        while (System.nanoTime() < deadline && p.isAlive()) {
            long left = deadline - System.nanoTime();
            if (left > 2_000_000) {
                Thread.sleep(1);
            } else {
                Thread.onSpinWait();
            }
        }
        boolean killed = p.isAlive();
        p.destroyForcibly(); // SIGKILL
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        p.getInputStream().close();
        return killed;
    }

    /**
     * Temp files a killed writer leaves are removed by the store only once they are older than its
     * 5 s threshold (a fresh one may belong to a live writer): age them as the passing time would.
     */
    static int ageTempFiles() throws IOException {
        int n = 0;
        for (String t : f.tempFiles()) {
            Files.setLastModifiedTime(
                    f.dataDir.resolve(f.network).resolve(t), FileTime.fromMillis(System.currentTimeMillis() - 60_000));
            n++;
        }
        return n;
    }

    /** What a killed run left before the cleanup DEL: "-" nothing, else veth/reservation/NAT flags. */
    static String leftover() {
        boolean veth = PluginFixture.nsLinks(ns).contains("eth0");
        boolean res = !f.reservations().isEmpty();
        boolean nat = !f.natElements().isEmpty();
        return !veth && !res && !nat ? "-" : (veth ? "V" : "") + (res ? "R" : "") + (nat ? "N" : "");
    }

    static void delAndAssertClean(String id, String what) throws Exception {
        ok(call(new Bridge(), env("DEL", id, ns, "eth0"), cfg));
        try {
            assertClean(f, ns);
        } catch (AssertionError e) {
            throw new AssertionError(what + " (seed " + SEED + "): " + e.getMessage(), e);
        }
    }

    /** One kill: when, whether the plugin was still running, what it left. */
    record Trial(long at, boolean killed, String left) {}

    /**
     * Kills {@code verb} at {@code count} instants stratified over [from, to); for DEL each trial
     * first makes a full ADD in-process. After each kill: DEL in-process, assert clean.
     */
    static List<Trial> trials(String verb, String tag, long from, long to, int count, long full) throws Exception {
        List<Trial> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            long at = from + (long) ((to - from) * (i + RANDOM.nextDouble()) / count);
            String id = tag + i;
            if (verb.equals("DEL")) {
                ok(call(new Bridge(), env("ADD", id, ns, "eth0"), cfg));
            }
            boolean killed = killAfter(env(verb, id, ns, "eth0"), at);
            temps += ageTempFiles();
            out.add(new Trial(at, killed, leftover()));
            delAndAssertClean(id, verb + " killed after " + at / 1_000_000 + " ms of " + full / 1_000_000);
        }
        return out;
    }

    static int temps;

    /**
     * The whole run first (every instant equally likely); then, as the plugin's own work is a
     * small part of a run that is mostly JVM start-up, a second pass over the window where the
     * observed state changed from "untouched" to "done".
     */
    static void crash(String verb, String tag, long full, String untouched) throws Exception {
        temps = 0;
        List<Trial> all = new ArrayList<>();
        for (int pass = 0; ; pass++) {
            List<Trial> t = trials(verb, tag + pass + "x", 0, full, TRIALS, full);
            all.addAll(t);
            // if load made this run slower than the measured ones, no kill reached the work: stretch and redo
            if (t.stream().anyMatch(x -> !x.killed || !x.left.equals(untouched)) || pass == 2) {
                break;
            }
            full = full * 3 / 2;
        }
        assertTrue(
                all.stream().anyMatch(x -> !x.killed || !x.left.equals(untouched)),
                "the kills never reached the plugin's work");
        long lo = 0, hi = full;
        for (Trial t : all) {
            if (t.killed && t.left.equals(untouched)) {
                lo = Math.max(lo, t.at);
            }
        }
        for (Trial t : all) {
            if (t.at > lo && (!t.killed || !t.left.equals(untouched))) {
                hi = Math.min(hi, t.at);
            }
        }
        // a little past the first "done" (or past the measured end if every trial was killed untouched)
        hi = hi == full ? full + full / 3 : Math.min(full, hi + (hi - lo) / 4 + 5_000_000);
        all.addAll(trials(verb, tag + "f", lo, hi, FOCUSED, full));
        Map<String, Integer> states = new TreeMap<>();
        int killed = 0;
        for (Trial t : all) {
            states.merge(t.killed ? t.left : "finished", 1, Integer::sum);
            killed += t.killed ? 1 : 0;
        }
        System.out.printf(
                "BridgeCrashTest %s: run %d ms, focus %d..%d ms, %d/%d killed mid-run, %d temp files aged, left %s%n",
                verb, full / 1_000_000, lo / 1_000_000, hi / 1_000_000, killed, all.size(), temps, states);
        assertTrue(killed >= TRIALS / 4, "too few trials killed a running plugin: " + killed);
    }

    /**
     * The run time: the median of three runs, as the machine's load (other tests) makes single
     * runs vary by a factor of two; kills are spread a little past it to cover slower runs.
     */
    static long median(long[] runs) {
        long[] r = runs.clone();
        java.util.Arrays.sort(r);
        return r[r.length / 2] * 6 / 5;
    }

    @Test
    void killDuringAdd() throws Exception {
        long[] runs = new long[3];
        for (int i = 0; i < runs.length; i++) {
            runs[i] = timed(env("ADD", "warm", ns, "eth0"));
            delAndAssertClean("warm", "after the uninterrupted ADD");
        }
        long full = median(runs);
        crash("ADD", "a", full, "-");
    }

    @Test
    void killDuringDel() throws Exception {
        long[] runs = new long[3];
        for (int i = 0; i < runs.length; i++) {
            ok(call(new Bridge(), env("ADD", "warm", ns, "eth0"), cfg));
            runs[i] = timed(env("DEL", "warm", ns, "eth0"));
            assertClean(f, ns);
        }
        long full = median(runs);
        crash("DEL", "d", full, "VRN");
    }
}
