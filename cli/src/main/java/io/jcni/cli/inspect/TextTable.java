package io.jcni.cli.inspect;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/** Left-aligned columns under a header, as the other {@code jcni} tables; an empty table prints a dash line. */
public final class TextTable {
    private final List<String[]> rows = new ArrayList<>();
    private final String indent;

    public TextTable(String indent, String... header) {
        this.indent = indent;
        rows.add(header);
    }

    public TextTable row(Object... cells) {
        String[] r = new String[rows.get(0).length];
        for (int i = 0; i < r.length; i++) {
            r[i] = i < cells.length && cells[i] != null ? cells[i].toString() : "";
        }
        rows.add(r);
        return this;
    }

    public boolean isEmpty() {
        return rows.size() == 1;
    }

    public void print(PrintStream out) {
        if (isEmpty()) {
            out.println(indent + "(none)");
            return;
        }
        printColumns(out);
    }

    /** The header and the rows, the header alone when there are none (for lists whose emptiness the caller tells). */
    public void printColumns(PrintStream out) {
        int n = rows.get(0).length;
        int[] w = new int[n];
        for (String[] r : rows) {
            for (int i = 0; i < n; i++) {
                w[i] = Math.max(w[i], r[i].length());
            }
        }
        for (String[] r : rows) {
            StringBuilder sb = new StringBuilder(indent);
            for (int i = 0; i < n; i++) {
                sb.append(i == n - 1 ? r[i] : String.format("%-" + (w[i] + 2) + "s", r[i]));
            }
            out.println(sb.toString().stripTrailing());
        }
    }
}
