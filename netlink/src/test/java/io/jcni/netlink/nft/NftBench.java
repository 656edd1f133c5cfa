package io.jcni.netlink.nft;

import io.jcni.netlink.Trace;
import io.jcni.netlink.ip.IpAddress;
import java.util.Arrays;
import java.util.List;

/**
 * Timing aid for the closing note (not a test; no timed assertions). Run inside a namespace
 * that has {@code table ip TABLE} with {@code set pods { type ipv4_addr; }}:
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp target/classes:target/test-classes io.jcni.netlink.nft.NftBench warm TABLE 30
 * java … NftBench once TABLE    # one batch (add + delete of one element) in a fresh JVM, for hyperfine
 * java … NftBench noop         # the same JVM start-up without any nft work
 * java … NftBench first TABLE   # prints µs: main() to the end of the first batch, of which socket open, and the batch
 * </pre>
 */
public final class NftBench {
    private NftBench() {}

    public static void main(String[] args) {
        String mode = args[0];
        if (mode.equals("noop")) {
            return;
        }
        String table = args[1];
        long start = System.nanoTime();
        List<IpAddress> one = List.of(IpAddress.parse("10.1.0.2"));
        if (mode.equals("first")) { // in-process cost of the first nft operation of a fresh JVM: open + one batch
            long opened;
            try (Nftables nft = Nftables.open(Trace.OFF)) {
                opened = System.nanoTime();
                nft.batch()
                        .addElements(Nftables.IP, table, "pods", one)
                        .deleteElements(Nftables.IP, table, "pods", one)
                        .commit();
            }
            long end = System.nanoTime();
            System.out.println((end - start) / 1000 + " " + (opened - start) / 1000 + " " + (end - opened) / 1000);
            return;
        }
        try (Nftables nft = Nftables.open(Trace.OFF)) {
            if (mode.equals("once")) {
                nft.batch()
                        .addElements(Nftables.IP, table, "pods", one)
                        .deleteElements(Nftables.IP, table, "pods", one)
                        .commit();
                return;
            }
            int runs = Integer.parseInt(args[2]);
            for (int i = 0; i < 2000; i++) { // warm-up
                nft.batch()
                        .addElements(Nftables.IP, table, "pods", one)
                        .deleteElements(Nftables.IP, table, "pods", one)
                        .commit();
            }
            long[] both = new long[runs], add = new long[runs], del = new long[runs];
            for (int i = 0; i < runs; i++) {
                long t0 = System.nanoTime();
                nft.batch()
                        .addElements(Nftables.IP, table, "pods", one)
                        .deleteElements(Nftables.IP, table, "pods", one)
                        .commit();
                long t1 = System.nanoTime();
                nft.batch().addElements(Nftables.IP, table, "pods", one).commit();
                long t2 = System.nanoTime();
                nft.batch().deleteElements(Nftables.IP, table, "pods", one).commit();
                long t3 = System.nanoTime();
                both[i] = t1 - t0;
                add[i] = t2 - t1;
                del[i] = t3 - t2;
            }
            System.out.println("runs=" + runs + " median µs: add+delete in one batch " + median(both)
                    + ", add-only batch " + median(add) + ", delete-only batch " + median(del));
        }
    }

    private static String median(long[] ns) {
        long[] s = ns.clone();
        Arrays.sort(s);
        long m = s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
        return String.format("%.1f", m / 1000.0);
    }
}
