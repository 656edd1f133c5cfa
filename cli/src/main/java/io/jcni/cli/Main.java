package io.jcni.cli;

import io.jcni.netlink.KernelException;
import io.jcni.netlink.Trace;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code jcni}: the command line. Exit codes: 0 success, 1 the operation failed (the kernel
 * refused, a check failed), 2 bad usage. Errors are one line on stderr; {@code --debug} adds the
 * stack trace.
 */
public final class Main {
    static final String USAGE = """
            Usage: jcni [--trace] [--debug] COMMAND [ARGS]

            Kubernetes pod networking in Java: CNI plugins, runtime and tools over netlink.

            Commands:
              netns add|del|list|exec   named network namespaces (like ip netns)
              link [list] [--netns NAME] interfaces of a namespace (like ip link)
              demo [--keep|--cleanup]   build two pods on a bridge with NAT and show it working
              install [--dir DIR]       install jcni's CNI plugins (jcni-bridge, -host-local, ...)
              daemon [--socket PATH]    serve the plugins from a resident JVM (the executables use it)
              add|del|check NET NETNS   run a network's plugin chain for a namespace (cnitool)
              status|gc NET             plugin readiness; DEL stale cached attachments + GC
              pod create|delete|list    a named namespace attached to a network, in one step
              networks                  network configurations found, their plugins, load errors
              inspect node|pod ID       a node's or a pod's network in one view (ip link/addr/route/neigh,
                                        forwarding, listening sockets, CNI state, inconsistencies)
              doctor [--fix]            what is wrong with the node's pod networking; --fix repairs the safe part
              graph [--output FILE]     the node as an SVG picture (--format dot for Graphviz)
              completion bash|zsh       shell completion for the whole command line
              agent [FLAGS]             the cluster network's node agent (etcd leases, host-gw/vxlan)
              cluster init|status|leave the cluster network's configuration, leases and this node's routes
              demo --cluster            three simulated nodes on etcd, pods pinging across them

            Options:
              --trace   print every kernel change as the equivalent ip/nft/sysctl command,
                        and every plugin run (env, stdin, stdout, time)
              --debug   print stack traces of errors
              --help    this text; 'jcni COMMAND --help' for a command
            """;

    private Main() {}

    public static void main(String[] args) {
        int code = run(args, System.out, System.err);
        System.out.flush();
        System.exit(code);
    }

    /** Runs the CLI without exiting (tests call this). */
    public static int run(String[] argv, PrintStream out, PrintStream err) {
        boolean debug = false;
        boolean trace = false;
        List<String> args = new ArrayList<>();
        for (int i = 0; i < argv.length; i++) {
            String a = argv[i];
            if (!args.isEmpty() && a.equals("--")) {
                for (int j = i; j < argv.length; j++) {
                    args.add(argv[j]); // everything after -- belongs to the command (netns exec)
                }
                break;
            }
            switch (a) {
                case "--debug" -> debug = true;
                case "--trace" -> trace = true;
                default -> args.add(a);
            }
        }
        Trace tracer = trace ? new PrintingTrace(err) : Trace.OFF;
        if (args.isEmpty()
                || args.get(0).equals("--help")
                || args.get(0).equals("-h")
                || args.get(0).equals("help")) {
            (args.isEmpty() ? err : out).print(USAGE);
            return args.isEmpty() ? 2 : 0;
        }
        String command = args.remove(0);
        try {
            return switch (command) {
                case "netns" -> new NetnsCommand(out, err, tracer).run(args);
                case "link" -> new LinkCommand(out, tracer).run(args);
                case "agent", "cluster" ->
                    throw new UsageException("\"" + command + "\" runs from the agent module (it loads the etcd"
                            + " client): start it with bin/jcni, or java -cp 'agent/target/lib/*:agent/target/*' io.jcni.agent.AgentMain "
                            + command);
                case "demo" -> {
                    if (args.contains("--cluster")) {
                        throw new UsageException(
                                "demo --cluster runs from the agent module: start it with bin/jcni demo --cluster");
                    }
                    yield new DemoCommand(out, err).run(args);
                }
                case "install" -> new InstallCommand(out).run(args);
                case "daemon" -> new DaemonCommand(out, err).run(args);
                case "add", "del", "check", "status", "gc" ->
                    new NetworkCommand(out, err, trace, System.getenv()).run(command, args);
                case "pod" -> new PodCommand(out, err, tracer, System.getenv()).run(args);
                case "networks" -> new NetworksCommand(out, System.getenv()).run(args);
                case "inspect" -> new InspectCommand(out, System.getenv()).run(args);
                case "doctor" -> new DoctorCommand(out, System.getenv()).run(args);
                case "graph" -> new GraphCommand(out, System.getenv()).run(args);
                case "completion" -> new CompletionCommand(out).run(args);
                default -> throw new UsageException("unknown command \"" + command + "\" (see jcni --help)");
            };
        } catch (UsageException e) {
            err.println("jcni: " + e.getMessage());
            return 2;
        } catch (KernelException | IllegalArgumentException | IllegalStateException e) {
            err.println("jcni: " + e.getMessage());
            if (debug) {
                e.printStackTrace(err);
            }
            return 1;
        }
    }

    /** Every command's {@code --help} and {@code -h}: true, with {@code usage} printed, when {@code args} hold either. */
    static boolean helpAsked(List<String> args, PrintStream out, String usage) {
        if (args.contains("--help") || args.contains("-h")) {
            out.print(usage);
            return true;
        }
        return false;
    }

    /** A command (or verb) that takes no arguments refuses any: a usage error naming it and its help. */
    static void noArguments(String command, List<String> positional) {
        if (!positional.isEmpty()) {
            throw new UsageException(command + " takes no arguments, got \"" + positional.get(0) + "\" (see jcni "
                    + command.split(" ")[0] + " --help)");
        }
    }

    /** Prints each kernel change as a command line, prefixed like a shell's xtrace. */
    static final class PrintingTrace implements Trace {
        private final PrintStream err;

        PrintingTrace(PrintStream err) {
            this.err = err;
        }

        @Override
        public void command(String commandLine) {
            err.println("+ " + commandLine);
        }
    }

    /** Bad usage: exit code 2, with the message. */
    static final class UsageException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }
}
