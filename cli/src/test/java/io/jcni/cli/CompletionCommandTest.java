package io.jcni.cli;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.testkit.Commands;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code jcni completion bash|zsh}: the scripts complete commands, verbs, flags, flag values,
 * namespaces and network names in real shells; the command table they come from agrees with what
 * each command's --help documents, with Main's dispatch and with the agent's own flags.
 */
class CompletionCommandTest {

    static String run(Path dir, String shell, String script, String harness) throws Exception {
        Path f = dir.resolve("script." + shell);
        Files.writeString(f, script);
        Path h = dir.resolve("harness." + shell);
        Files.writeString(h, harness.replace("@SCRIPT@", f.toString()));
        List<String> cmd =
                shell.equals("zsh") ? List.of("zsh", "-f", h.toString()) : List.of("bash", "--norc", h.toString());
        return Commands.of(cmd)
                .env("NETCONFPATH", dir.resolve("net.d").toString())
                .timeout(Duration.ofSeconds(30))
                .ok();
    }

    static void netconf(Path dir) throws Exception {
        Path d = Files.createDirectories(dir.resolve("net.d"));
        Files.writeString(
                d.resolve("10-a.conflist"),
                "{\"cniVersion\": \"1.0.0\", \"name\": \"jin-alpha\", \"plugins\": [{\"type\": \"bridge\"}]}");
        Files.writeString(
                d.resolve("20-b.conflist"),
                "{\n  \"cniVersion\": \"1.0.0\",\n  \"name\": \"jin-beta\",\n  \"plugins\": []\n}");
    }

    static final String CASES = """
            t jcni ins
            t jcni inspect ''
            t jcni inspect pod --net
            t jcni --trace doctor --f
            t jcni inspect node -o ''
            t jcni graph --format ''
            t jcni cluster init --backend ''
            t jcni completion ''
            t jcni add ''
            t jcni add jin-alpha --ifname eth1 --cni-path /tmp ''
            t jcni pod create x --network ''
            t jcni agent --no-plugin-socket --ip
            """;

    static final List<String> EXPECTED = List.of(
            "[jcni ins] -> inspect install",
            "[jcni inspect ] -> node pod",
            "[jcni inspect pod --net] -> --netconf --netns",
            "[jcni --trace doctor --f] -> --fix",
            "[jcni inspect node -o ] -> json table",
            "[jcni graph --format ] -> dot svg",
            "[jcni cluster init --backend ] -> host-gw vxlan",
            "[jcni completion ] -> bash zsh",
            "[jcni add ] -> jin-alpha jin-beta",
            "[jcni add jin-alpha --ifname eth1 --cni-path /tmp ] -> NETNS",
            "[jcni pod create x --network ] -> jin-alpha jin-beta",
            "[jcni agent --no-plugin-socket --ip] -> --ip-masq");

    /** The namespaces the completion offers come from /run/netns: the harness replaces that lookup by a fixed word. */
    static final String NETNS = "_jcni_netns() { echo NETNS; }\n";

    @Test
    void bashCompletesCommandsVerbsFlagsValuesAndNames(@TempDir Path dir) throws Exception {
        CliRunner r = CliRunner.run("completion", "bash");
        assertEquals(0, r.code(), r.err());
        netconf(dir);
        String out = run(dir, "bash", r.out(), "source @SCRIPT@\n" + NETNS + """
                t() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _jcni
                      printf '[%s] -> %s\\n' "$*" "$(printf '%s\\n' "${COMPREPLY[@]}" | sort | tr '\\n' ' ' | sed 's/ $//')"; }
                complete -p jcni
                """ + CASES);
        assertTrue(out.startsWith("complete -F _jcni jcni\n"), out);
        assertEquals(EXPECTED, out.lines().skip(1).toList());
    }

    @Test
    void zshCompletesTheSame(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(
                Files.isExecutable(Path.of("/usr/bin/zsh")) || Files.isExecutable(Path.of("/bin/zsh")),
                "no zsh to run the zsh script in (apt-get install zsh)");
        CliRunner r = CliRunner.run("completion", "zsh");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("#compdef jcni\n"), "loadable from $fpath");
        netconf(dir);
        // zsh's completion builtins only work while completing: stand-ins print what they were given
        String out = run(dir, "zsh", r.out(), """
                compdef() { print -r -- "compdef $*"; }
                compadd() { while [[ $# -gt 0 && $1 != -- ]]; do shift; done; shift; local w; for w in "$@"; do [[ $w == ${words[CURRENT]}* ]] && print -r -- "$w"; done; }
                _describe() { local name=$4 w; for w in ${${(P)name}%%:*}; do [[ $w == ${words[CURRENT]}* ]] && print -r -- "$w"; done; }
                _files() { print -r -- FILES; }
                source @SCRIPT@
                """ + NETNS + """
                t() { words=("$@"); CURRENT=$#; local got; got=$(_jcni | sort | tr '\\n' ' '); print -r -- "[$*] -> ${got% }"; }
                """ + CASES.replace("''", "\"\""));
        assertTrue(out.startsWith("compdef _jcni jcni\n"), out);
        List<String> expected = new ArrayList<>();
        for (String e : EXPECTED) {
            // the command list of zsh also offers the global flags, as bash does
            expected.add(e);
        }
        List<String> got = out.lines().skip(1).toList();
        assertEquals(expected.size(), got.size(), out);
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(expected.get(i), got.get(i), out);
        }
    }

    static Set<String> flagsIn(String text) {
        Set<String> s = new TreeSet<>();
        Matcher m = Pattern.compile("(?<![\\w-])(--[a-z][a-z0-9-]*|-[a-z])(?![\\w-])")
                .matcher(text);
        while (m.find()) {
            s.add(m.group(1));
        }
        return s;
    }

    /** What each command's --help documents is what the table offers, and back. */
    @Test
    void theTableIsTheFlagsEachCommandDocuments() throws Exception {
        for (CommandTable.Command c : CommandTable.COMMANDS) {
            if (c.name().equals("agent") || c.name().equals("cluster")) {
                continue; // the agent module's: below
            }
            Set<String> table = new TreeSet<>();
            c.flags().values().forEach(l -> l.forEach(f -> table.add(f.name())));
            CliRunner help = CliRunner.run(c.name(), "--help");
            assertEquals(0, help.code(), c.name() + ": " + help.err());
            Set<String> documented = flagsIn(help.out());
            documented.remove("-h");
            if (c.name().equals("demo")) {
                documented.addAll(List.of(
                        "--cluster", "--backend", "--help")); // demo --cluster is the agent module's (Main's usage)
            }
            documented.add("--help");
            assertEquals(documented, table, "jcni " + c.name() + " --help vs the completion table");
        }
        // the agent's flags, as its own usage lists them
        Path agent = Path.of("..", "agent", "src", "main", "java", "io", "jcni", "agent", "AgentOptions.java");
        String src = Files.readString(agent);
        String usage =
                src.substring(src.indexOf("USAGE = \"\"\""), src.indexOf("\"\"\";", src.indexOf("USAGE = \"\"\"")));
        Set<String> agentFlags = flagsIn(usage);
        agentFlags.add("--help");
        Set<String> table = new TreeSet<>();
        CommandTable.AGENT.forEach(f -> table.add(f.name()));
        assertEquals(agentFlags, table, "jcni agent's flags (" + agent + ") vs the completion table");
        Set<String> cluster = new TreeSet<>();
        Matcher m = Pattern.compile("case \"(--[a-z-]+)\"")
                .matcher(Files.readString(agent.resolveSibling("ClusterCommand.java")));
        while (m.find()) {
            cluster.add(m.group(1));
        }
        cluster.remove("--help");
        Set<String> init = new TreeSet<>();
        CommandTable.command("cluster").flagsOf("init").forEach(f -> init.add(f.name()));
        assertTrue(init.containsAll(cluster), "cluster init's flags " + cluster + " vs " + init);
    }

    @Test
    void everyCommandInTheTableIsDispatchedAndListedInHelp() {
        CliRunner help = CliRunner.run("--help");
        Set<String> listed = new LinkedHashSet<>();
        for (String line : help.out().lines().toList()) {
            Matcher m = Pattern.compile("^  ([a-z]+)").matcher(line);
            if (m.find()) {
                listed.add(m.group(1));
            }
        }
        Set<String> words = new TreeSet<>();
        for (String line : help.out().lines().toList()) {
            if (line.startsWith("  ") && !line.startsWith("   ")) {
                words.addAll(List.of(line.trim().split("[ |]")));
            }
        }
        for (CommandTable.Command c : CommandTable.COMMANDS) {
            assertTrue(words.contains(c.name()), c.name() + " in jcni --help:\n" + help.out());
            CliRunner r = CliRunner.run(c.name(), "--help");
            assertFalse(r.err().contains("unknown command"), c.name() + ": " + r.err());
        }
        for (String s : List.of("inspect", "doctor", "graph", "completion")) {
            assertTrue(listed.contains(s), s + " listed in jcni --help");
        }
        assertEquals(2, CliRunner.run("completion", "fish").code());
    }
}
