package io.jcni.testkit;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A small seeded random-input generator for the parsers' fuzz tests (no dependency): each test
 * runs a property over {@link #tries} inputs drawn from one seed, and a failure names the seed
 * and the try so that {@code -Djcni.fuzz.seed=<seed>} replays it exactly.
 *
 * <p>{@code -Djcni.fuzz.tries=N} sets the number of inputs per property (the quick default keeps
 * {@code bin/test} short). The seed is fixed ({@link #DEFAULT_SEED}) so that the suite gives the
 * same answer on every run and a CI result never depends on luck; {@code -Djcni.fuzz.seed=S}
 * picks another, and {@code -Djcni.fuzz.seed=random} a new one per run (for long runs).
 */
public final class Fuzz {
    private Fuzz() {}

    /** The seed of the quick runs in the test suite. */
    public static final long DEFAULT_SEED = 20261206L;

    /** One property: checks one input drawn from {@code random}; throws on a violation. */
    @FunctionalInterface
    public interface Property {
        void check(Random random) throws Exception;
    }

    /** The number of inputs per property: {@code jcni.fuzz.tries}, else {@code quickDefault}. */
    public static int tries(int quickDefault) {
        return Integer.getInteger("jcni.fuzz.tries", quickDefault);
    }

    /** {@code jcni.fuzz.seed}: a number, {@code random}, or unset for {@link #DEFAULT_SEED}. */
    static long seed() {
        String s = System.getProperty("jcni.fuzz.seed");
        if (s == null || s.isBlank()) {
            return DEFAULT_SEED;
        }
        return s.equals("random") ? System.nanoTime() ^ Thread.currentThread().threadId() : Long.parseLong(s.strip());
    }

    /** Runs {@code property} over {@link #tries}({@code quickDefault}) inputs; a failure reports the seed. */
    public static void run(String name, int quickDefault, Property property) {
        long seed = seed();
        int tries = tries(quickDefault);
        for (int i = 0; i < tries; i++) {
            // One Random per try, derived from (seed, try), so a long run's failure replays alone too.
            Random random = new Random(seed * 31 + i);
            try {
                property.check(random);
            } catch (Throwable t) {
                throw new AssertionError(
                        name + " failed at try " + i + " of " + tries + " (replay: -Djcni.fuzz.seed=" + seed
                                + "; -Djcni.fuzz.tries=" + (i + 1) + "): " + t,
                        t);
            }
        }
    }

    // ---- generators ----

    private static final String[] JSON_TOKENS = {
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"",
        "null",
        "true",
        "false",
        "0",
        "-1",
        "1e999",
        "-0",
        "1.5",
        "18446744073709551616",
        "\"\"",
        "\"a\"",
        "\\u0000",
        "\\",
        "\n",
        " ",
        "\u00e9",
        "\ud83d\ude00"
    };
    private static final String[] WORDS = {
        "",
        "a",
        "0",
        "-1",
        "=",
        ";",
        ",",
        "/",
        ":",
        "..",
        ".",
        " ",
        "\t",
        "\n",
        "\u0000",
        "10.1.2.3",
        "10.1.2.0/24",
        "::1",
        "fd00::/64",
        "300.1.1.1",
        "1.2.3.4/33",
        "eth0",
        "IgnoreUnknown",
        "true",
        "1",
        "IP",
        "MAC",
        "K8S_POD_NAME",
        "ffffffffffffffffffff",
        "\u00e9",
        "\ud83d\ude00",
        "\ud800",
        "x".repeat(300)
    };

    /** Uniform random bytes, length in [0, max]. */
    public static byte[] bytes(Random r, int max) {
        byte[] b = new byte[r.nextInt(max + 1)];
        r.nextBytes(b);
        return b;
    }

    /** A string made of the interesting words and random characters (unpaired surrogates included). */
    public static String text(Random r, int maxParts) {
        StringBuilder sb = new StringBuilder();
        int n = r.nextInt(maxParts + 1);
        for (int i = 0; i < n; i++) {
            switch (r.nextInt(3)) {
                case 0 -> sb.append(pick(r, WORDS));
                case 1 -> sb.append((char) r.nextInt(0x80));
                default -> sb.append((char) r.nextInt(0x10000));
            }
        }
        return sb.toString();
    }

    /** A string of well-formed Unicode only (what survives a UTF-8 round trip unchanged). */
    public static String wellFormedText(Random r, int maxChars) {
        StringBuilder sb = new StringBuilder();
        int n = r.nextInt(maxChars + 1);
        for (int i = 0; i < n; i++) {
            int cp = switch (r.nextInt(3)) {
                case 0 -> r.nextInt(0x80);
                case 1 -> r.nextInt(0xd800);
                default -> 0x10000 + r.nextInt(0x10000);
            };
            sb.appendCodePoint(cp);
        }
        return sb.toString();
    }

    public static <T> T pick(Random r, T[] choices) {
        return choices[r.nextInt(choices.length)];
    }

    public static <T> T pick(Random r, List<T> choices) {
        return choices.get(r.nextInt(choices.size()));
    }

    /** A random JSON value (as plain Java values: Map, List, String, Long, Double, Boolean, null). */
    public static Object jsonValue(Random r, int depth) {
        int kind = r.nextInt(depth <= 0 ? 5 : 7);
        return switch (kind) {
            case 0 -> null;
            case 1 -> r.nextBoolean();
            case 2 ->
                r.nextBoolean()
                        ? (Object) (long) (r.nextInt(200_000) - 100_000)
                        : (Object) pick(r, new Object[] {
                            Long.MAX_VALUE, Long.MIN_VALUE, 0L, -1L, 65536L, 1.5, -0.0, 1e300, 4294967296.0
                        });
            case 3, 4 -> text(r, 4);
            case 5 -> {
                List<Object> l = new ArrayList<>();
                for (int i = r.nextInt(4); i > 0; i--) {
                    l.add(jsonValue(r, depth - 1));
                }
                yield l;
            }
            default -> {
                Map<String, Object> m = new LinkedHashMap<>();
                for (int i = r.nextInt(4); i > 0; i--) {
                    m.put(text(r, 2), jsonValue(r, depth - 1));
                }
                yield m;
            }
        };
    }

    /**
     * A structural mutation of a parsed JSON document (modified in place, and returned): a member
     * or element replaced by a value of a random type, removed, or added, at a random depth.
     */
    @SuppressWarnings("unchecked")
    public static Object mutateJson(Random r, Object doc) {
        Object node = doc;
        for (int depth = 0; depth < 6; depth++) {
            List<Object> children = new ArrayList<>();
            if (node instanceof Map<?, ?> m) {
                for (Object v : m.values()) {
                    if (v instanceof Map || v instanceof List) {
                        children.add(v);
                    }
                }
            } else if (node instanceof List<?> l) {
                for (Object v : l) {
                    if (v instanceof Map || v instanceof List) {
                        children.add(v);
                    }
                }
            }
            if (children.isEmpty() || r.nextInt(3) == 0) {
                break;
            }
            node = pick(r, children);
        }
        if (node instanceof Map<?, ?> raw) {
            Map<String, Object> m = (Map<String, Object>) raw;
            List<String> keys = new ArrayList<>(m.keySet());
            int op = keys.isEmpty() ? 2 : r.nextInt(3);
            switch (op) {
                case 0 -> m.put(pick(r, keys), jsonValue(r, 2));
                case 1 -> m.remove(pick(r, keys));
                default ->
                    m.put(r.nextBoolean() && !keys.isEmpty() ? pick(r, keys) + "x" : text(r, 2), jsonValue(r, 2));
            }
        } else if (node instanceof List<?> raw) {
            List<Object> l = (List<Object>) raw;
            int op = l.isEmpty() ? 2 : r.nextInt(3);
            switch (op) {
                case 0 -> l.set(r.nextInt(l.size()), jsonValue(r, 2));
                case 1 -> l.remove(r.nextInt(l.size()));
                default -> l.add(r.nextInt(l.size() + 1), jsonValue(r, 2));
            }
        } else {
            return jsonValue(r, 2);
        }
        return doc;
    }

    /**
     * A byte-level mutation of {@code valid}: some of flips, insertions (random bytes or JSON
     * tokens), deletions, truncation and duplicated slices.
     */
    public static byte[] mutateBytes(Random r, byte[] valid) {
        List<Byte> b = new ArrayList<>(valid.length + 16);
        for (byte x : valid) {
            b.add(x);
        }
        for (int n = 1 + r.nextInt(4); n > 0; n--) {
            int at = b.isEmpty() ? 0 : r.nextInt(b.size());
            switch (r.nextInt(6)) {
                case 0 -> {
                    if (!b.isEmpty()) {
                        b.set(at, (byte) (b.get(at) ^ (1 << r.nextInt(8))));
                    }
                }
                case 1 -> b.add(at, (byte) r.nextInt(256));
                case 2 -> {
                    for (byte x : pick(r, JSON_TOKENS).getBytes(StandardCharsets.UTF_8)) {
                        b.add(at++, x);
                    }
                }
                case 3 -> {
                    int len = Math.min(b.size() - at, 1 + r.nextInt(8));
                    for (int i = 0; i < len; i++) {
                        b.remove(at);
                    }
                }
                case 4 -> {
                    while (b.size() > at) {
                        b.remove(b.size() - 1);
                    }
                }
                default -> {
                    int len = Math.min(b.size() - at, 1 + r.nextInt(16));
                    List<Byte> slice = new ArrayList<>(b.subList(at, at + len));
                    b.addAll(r.nextInt(b.size() + 1), slice);
                }
            }
        }
        byte[] out = new byte[b.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = b.get(i);
        }
        return out;
    }
}
