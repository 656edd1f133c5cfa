package io.jcni.cli;

import io.jcni.cli.CommandTable.Command;
import io.jcni.cli.CommandTable.Flag;
import io.jcni.cli.CommandTable.Kind;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code jcni completion bash|zsh}: shell completion for the whole command line, generated from
 * {@link CommandTable}: commands, verbs, flags, the fixed values of flags ({@code -o json|table}),
 * and names where they are arguments — namespaces from /run/netns, networks from the
 * configuration directory ({@code --netconf} on the line, else {@code $NETCONFPATH}, else
 * /etc/cni/net.d), files and directories. The scripts run no JVM: completing is instant.
 */
final class CompletionCommand {
    static final String USAGE = """
            Usage: jcni completion bash|zsh

            Prints a completion script for the whole jcni command line.
              bash:  source <(jcni completion bash)      (or save it in /etc/bash_completion.d/jcni)
              zsh:   source <(jcni completion zsh)       (or save it as _jcni in a directory of $fpath)
            """;

    private final PrintStream out;

    CompletionCommand(PrintStream out) {
        this.out = out;
    }

    int run(List<String> args) {
        if (Main.helpAsked(args, out, USAGE)) {
            return 0;
        }
        if (args.size() != 1) {
            throw new Main.UsageException("completion takes bash or zsh (see jcni completion --help)");
        }
        switch (args.get(0)) {
            case "bash" -> out.print(bash());
            case "zsh" -> out.print(zsh());
            default -> throw new Main.UsageException("completion takes bash or zsh, not \"" + args.get(0) + "\"");
        }
        return 0;
    }

    // ------------------------------------------------------------------ the shared case functions (POSIX case, both
    // shells)

    private static String value(Flag f) {
        if (!f.words().isEmpty()) {
            return "words:" + String.join(" ", f.words());
        }
        return f.kind().name().toLowerCase(Locale.ROOT);
    }

    private static String kinds(List<Kind> k) {
        List<String> s = new ArrayList<>();
        for (Kind x : k) {
            s.add(x.name().toLowerCase(Locale.ROOT));
        }
        return String.join(" ", s);
    }

    static String helpers() {
        StringBuilder s = new StringBuilder();
        s.append("_jcni_verbs() {\n    case \"$1\" in\n");
        for (Command c : CommandTable.COMMANDS) {
            if (!c.verbs().isEmpty()) {
                s.append("        ")
                        .append(c.name())
                        .append(") echo '")
                        .append(String.join(" ", c.verbs()))
                        .append("' ;;\n");
            }
        }
        s.append("    esac\n}\n\n");
        s.append("_jcni_flags() {\n    case \"$1:$2\" in\n");
        for (Command c : CommandTable.COMMANDS) {
            for (Map.Entry<String, List<Flag>> e : c.flags().entrySet()) {
                if (!e.getKey().isEmpty()) {
                    s.append("        ")
                            .append(c.name())
                            .append(':')
                            .append(e.getKey())
                            .append(") echo '")
                            .append(names(e.getValue()))
                            .append("' ;;\n");
                }
            }
            if (c.flags().containsKey("")) {
                s.append("        ")
                        .append(c.name())
                        .append(":*) echo '")
                        .append(names(c.flags().get("")))
                        .append("' ;;\n");
            }
        }
        s.append("    esac\n}\n\n");
        s.append("_jcni_flag_value() {\n    case \"$1:$2:$3\" in\n");
        s.append("        *:*:--trace|*:*:--debug|*:*:--help) echo none ;;\n");
        for (Command c : CommandTable.COMMANDS) {
            for (Map.Entry<String, List<Flag>> e : c.flags().entrySet()) {
                String verb = e.getKey().isEmpty() ? "*" : e.getKey();
                for (Flag f : e.getValue()) {
                    s.append("        ")
                            .append(c.name())
                            .append(':')
                            .append(verb)
                            .append(':')
                            .append(f.name())
                            .append(") echo '")
                            .append(value(f))
                            .append("' ;;\n");
                }
            }
        }
        s.append("    esac\n}\n\n");
        s.append("_jcni_args() {\n    case \"$1:$2\" in\n");
        for (Command c : CommandTable.COMMANDS) {
            for (Map.Entry<String, List<Kind>> e : c.args().entrySet()) {
                s.append("        ")
                        .append(c.name())
                        .append(':')
                        .append(e.getKey().isEmpty() ? "*" : e.getKey())
                        .append(") echo '")
                        .append(kinds(e.getValue()))
                        .append("' ;;\n");
            }
        }
        s.append("        completion:*) ;;\n    esac\n}\n\n");
        s.append("""
                _jcni_netns() {
                    [ -d /run/netns ] && ls -1 /run/netns 2>/dev/null
                }

                # Network names: the "name" of each configuration file, in --netconf's directory when the line has one.
                _jcni_networks() {
                    [ -n "$ZSH_VERSION" ] && setopt localoptions nullglob
                    local dir="${NETCONFPATH:-/etc/cni/net.d}" w f prevw=
                    for w in "$@"; do
                        [ "$prevw" = --netconf ] && dir=$w
                        prevw=$w
                    done
                    for f in "$dir"/*.conflist "$dir"/*.conf "$dir"/*.json; do
                        [ -f "$f" ] && grep -o '"name"[[:space:]]*:[[:space:]]*"[^"]*"' "$f" 2>/dev/null | head -n 1 | sed 's/.*"\\([^"]*\\)"$/\\1/'
                    done
                }

                """);
        return s.toString();
    }

    private static String names(List<Flag> flags) {
        Set<String> n = new LinkedHashSet<>();
        for (Flag f : flags) {
            n.add(f.name());
        }
        return String.join(" ", n);
    }

    /** The scan of the words before the cursor: the command, its verb, how many positional arguments. */
    private static final String SCAN = """
                local cmd= verb= w kind npos=0 skip=
                for w in "${before[@]}"; do
                    if [ -n "$skip" ]; then skip=; continue; fi
                    if [ -z "$cmd" ]; then
                        case "$w" in -*) ;; *) cmd=$w ;; esac
                        continue
                    fi
                    case "$w" in
                        -*) kind=$(_jcni_flag_value "$cmd" "$verb" "$w")
                            [ -n "$kind" ] && [ "$kind" != none ] && skip=1 ;;
                        *) if [ -z "$verb" ] && [ -n "$(_jcni_verbs "$cmd")" ]; then verb=$w; else npos=$((npos + 1)); fi ;;
                    esac
                done
            """;

    static String bash() {
        StringBuilder s = new StringBuilder();
        s.append("# bash completion for jcni, generated by 'jcni completion bash' from the command table.\n");
        s.append("# Use: source <(jcni completion bash), or save it as /etc/bash_completion.d/jcni.\n\n");
        s.append(helpers());
        s.append("""
                _jcni_complete() {
                    case "$1" in
                        file) COMPREPLY=($(compgen -f -- "$cur")) ;;
                        dir) COMPREPLY=($(compgen -d -- "$cur")) ;;
                        netns|pod) COMPREPLY=($(compgen -W "$(_jcni_netns)" -- "$cur")) ;;
                        network) COMPREPLY=($(compgen -W "$(_jcni_networks "${COMP_WORDS[@]}")" -- "$cur")) ;;
                        words:*) COMPREPLY=($(compgen -W "${1#words:}" -- "$cur")) ;;
                    esac
                }

                _jcni() {
                    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
                    local before=("${COMP_WORDS[@]:1:COMP_CWORD-1}")
                    COMPREPLY=()
                """);
        s.append(SCAN);
        s.append("""
                    if [ -n "$cmd" ] && [ "$prev" != "$cmd" ] && [ "${prev#-}" != "$prev" ]; then
                        kind=$(_jcni_flag_value "$cmd" "$verb" "$prev")
                        if [ -n "$kind" ] && [ "$kind" != none ]; then _jcni_complete "$kind"; return; fi
                    fi
                    if [ -z "$cmd" ]; then
                        COMPREPLY=($(compgen -W '@COMMANDS@ --trace --debug --help' -- "$cur"))
                        return
                    fi
                    if [ "${cur#-}" != "$cur" ]; then
                        COMPREPLY=($(compgen -W "$(_jcni_flags "$cmd" "$verb")" -- "$cur"))
                        return
                    fi
                    if [ -z "$verb" ] && [ -n "$(_jcni_verbs "$cmd")" ]; then
                        COMPREPLY=($(compgen -W "$(_jcni_verbs "$cmd")" -- "$cur"))
                        return
                    fi
                    local kinds=($(_jcni_args "$cmd" "$verb"))
                    kind=${kinds[$npos]}
                    [ -n "$kind" ] && _jcni_complete "$kind"
                }

                complete -F _jcni jcni
                """.replace("@COMMANDS@", commandNames()).indent(0));
        return s.toString();
    }

    static String zsh() {
        StringBuilder s = new StringBuilder();
        s.append("#compdef jcni\n");
        s.append("# zsh completion for jcni, generated by 'jcni completion zsh' from the command table.\n");
        s.append("# Use: source <(jcni completion zsh), or save it as _jcni in a directory of $fpath.\n\n");
        s.append(helpers());
        s.append("""
                _jcni_complete() {
                    case "$1" in
                        file) _files ;;
                        dir) _files -/ ;;
                        netns|pod) compadd -- $(_jcni_netns) ;;
                        network) compadd -- $(_jcni_networks "${words[@]}") ;;
                        words:*) compadd -- ${=${1#words:}} ;;
                    esac
                }

                _jcni() {
                    local cur=${words[CURRENT]} prev=${words[CURRENT-1]}
                    local -a before
                    before=("${(@)words[2,CURRENT-1]}")
                """);
        s.append(SCAN);
        s.append("""
                    if [[ -n $cmd && $prev != $cmd && $prev == -* ]]; then
                        kind=$(_jcni_flag_value "$cmd" "$verb" "$prev")
                        if [[ -n $kind && $kind != none ]]; then _jcni_complete "$kind"; return; fi
                    fi
                    if [[ -z $cmd ]]; then
                        local -a commands
                        commands=(
                """);
        for (Command c : CommandTable.COMMANDS) {
            s.append("            '")
                    .append(c.name())
                    .append(':')
                    .append(c.help().replace("'", "'\\''"))
                    .append("'\n");
        }
        s.append("""
                        )
                        _describe -t commands 'jcni command' commands
                        compadd -- --trace --debug --help
                        return
                    fi
                    if [[ $cur == -* ]]; then
                        compadd -- ${=$(_jcni_flags "$cmd" "$verb")}
                        return
                    fi
                    if [[ -z $verb && -n $(_jcni_verbs "$cmd") ]]; then
                        compadd -- ${=$(_jcni_verbs "$cmd")}
                        return
                    fi
                    local -a kinds
                    kinds=(${=$(_jcni_args "$cmd" "$verb")})
                    kind=${kinds[npos+1]}
                    [[ -n $kind ]] && _jcni_complete "$kind"
                }

                if [ "$funcstack[1]" = "_jcni" ]; then
                    _jcni "$@"
                else
                    compdef _jcni jcni
                fi
                """);
        return s.toString();
    }

    private static String commandNames() {
        List<String> n = new ArrayList<>();
        for (Command c : CommandTable.COMMANDS) {
            n.add(c.name());
        }
        return String.join(" ", n);
    }
}
