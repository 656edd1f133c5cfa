package io.jcni.cli;

import io.jcni.netlink.NoSuchObjectException;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ns.NamedNetns;
import io.jcni.netlink.ns.NetNs;
import java.io.IOException;
import java.io.PrintStream;
import java.util.List;

/** {@code jcni netns add|del|list|exec}: named namespaces, interchangeable with {@code ip netns}. */
final class NetnsCommand {
    static final String USAGE = """
            Usage: jcni netns add NAME
                   jcni netns del NAME
                   jcni netns list
                   jcni netns exec NAME [--] CMD [ARGS...]

            Named network namespaces under /run/netns, the same files 'ip netns' uses.
            'exec' runs CMD with its network namespace set to NAME (the mount namespace is
            not changed, so /sys shows the host's view; ip, ping and sockets see NAME).
            """;

    private final PrintStream out;
    private final PrintStream err;
    private final Trace trace;

    NetnsCommand(PrintStream out, PrintStream err, Trace trace) {
        this.out = out;
        this.err = err;
        this.trace = trace;
    }

    int run(List<String> args) {
        if (args.isEmpty()) {
            err.print(USAGE);
            return 2;
        }
        if (args.contains("--help") && !(args.size() > 2 && args.get(0).equals("exec"))) {
            out.print(USAGE);
            return 0;
        }
        String verb = args.get(0);
        switch (verb) {
            case "add" -> {
                NamedNetns.create(oneName(args), trace);
                return 0;
            }
            case "del", "delete" -> {
                NamedNetns.delete(oneName(args), trace);
                return 0;
            }
            case "list", "ls" -> {
                if (args.size() != 1) {
                    throw new Main.UsageException("netns list takes no arguments");
                }
                for (String n : NamedNetns.list()) {
                    out.println(n);
                }
                return 0;
            }
            case "exec" -> {
                return exec(args);
            }
            default -> throw new Main.UsageException("unknown netns command \"" + verb + "\" (add, del, list, exec)");
        }
    }

    private static String oneName(List<String> args) {
        if (args.size() != 2) {
            throw new Main.UsageException("netns " + args.get(0) + " takes exactly one NAME");
        }
        return args.get(1);
    }

    private int exec(List<String> args) {
        if (args.size() < 3) {
            throw new Main.UsageException("netns exec needs NAME and a command");
        }
        String name = args.get(1);
        List<String> command = args.subList(args.get(2).equals("--") ? 3 : 2, args.size());
        if (command.isEmpty()) {
            throw new Main.UsageException("netns exec needs a command after --");
        }
        NamedNetns.validateName("exec in netns", name);
        if (!NamedNetns.exists(name)) {
            throw new NoSuchObjectException(
                    "exec in netns",
                    name,
                    io.jcni.netlink.sys.Errno.ENOENT,
                    "no namespace \"" + name + "\" under " + NetNs.RUN_DIR);
        }
        trace.command("ip netns exec " + name + " " + String.join(" ", command));
        try (NetNs ns = NetNs.openNamed(name)) {
            // The child inherits the namespace of the thread that spawns it, so spawn from a
            // platform thread that has entered the namespace; wait from here.
            Process p = ns.run(new NetNs.Work<Process>() {
                @Override
                public Process run() {
                    try {
                        return new ProcessBuilder(command).inheritIO().start();
                    } catch (IOException e) {
                        throw new IllegalStateException("cannot run " + command.get(0) + ": " + e.getMessage(), e);
                    }
                }
            });
            while (true) {
                try {
                    return p.waitFor();
                } catch (InterruptedException e) {
                    p.destroy();
                }
            }
        }
    }
}
