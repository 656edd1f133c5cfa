package io.jcni.cni;

import java.util.Set;

/**
 * A CNI plugin as an in-process function: the skeleton validates the request into an
 * {@link Invocation} and calls one of these; the plugin never touches stdin, stdout or exit.
 * Errors are {@link CniError}s; anything else thrown becomes an error object too.
 */
public interface Plugin {
    /** The reference plugin this one replaces: "bridge", "host-local", "loopback", … */
    String name();

    /** CNI_ARGS keys this plugin understands (others fail unless IgnoreUnknown=1). */
    Set<String> knownArgs();

    Result add(Invocation inv) throws CniError;

    void del(Invocation inv) throws CniError;

    void check(Invocation inv) throws CniError;

    void gc(Invocation inv) throws CniError;

    void status(Invocation inv) throws CniError;
}
