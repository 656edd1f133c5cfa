package io.jcni.runtime;

import io.jcni.cni.CniError;
import io.jcni.cni.CniVersion;
import io.jcni.cni.Names;
import io.jcni.cni.Result;
import io.jcni.cni.json.Json;
import io.jcni.cni.json.JsonException;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The runtime side of CNI, a libcni for Java: runs a network configuration's plugin chain for an
 * attachment and keeps libcni's result cache, so containerd, podman, cnitool and jcni see each
 * other's attachments.
 *
 * <pre>{@code
 * CniRuntime cni = CniRuntime.builder().cniPath(List.of("/opt/cni/bin")).build();
 * NetworkConfigList net = CniRuntime.loadNetwork(Path.of("/etc/cni/net.d"), "appnet");
 * RuntimeConf pod = new RuntimeConf("c0ffee", "/run/netns/web", "eth0");
 * NetworkResult r = cni.add(net, pod);   // plugins in order, prevResult chained, result cached
 * cni.check(net, pod);                   // every plugin, prevResult = the cached result
 * cni.del(net, pod);                     // plugins in reverse, cache removed
 * }</pre>
 *
 * Errors are {@link CniError}s carrying the plugin's code; list operations wrap the message as
 * libcni does ({@code plugin type="bridge" failed (add): …}). ADD, DEL and CHECK may run
 * concurrently for different attachments; {@link #gc} runs alone (in this JVM and against other
 * jcni processes using the same cache directory).
 */
public final class CniRuntime {

    private final PluginExecutor exec;
    private final ResultCache cache;
    private final GcLock gcLock;
    /** The spec's rule that a runtime runs one operation at a time per container (in this JVM). */
    private final java.util.concurrent.ConcurrentHashMap<String, java.util.concurrent.locks.ReentrantLock>
            containerLocks = new java.util.concurrent.ConcurrentHashMap<>();

    private CniRuntime(Builder b) {
        this.exec = new PluginExecutor(b.cniPath, b.timeout, b.listener, b.environment, b.stderr);
        this.cache = new ResultCache(b.cacheDir);
        this.gcLock = new GcLock(b.cacheDir.resolve("jcni.lock"));
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Configures a {@link CniRuntime}; defaults: CNI_PATH {@code /opt/cni/bin}, cache {@code /var/lib/cni}, timeout 60 s. */
    public static final class Builder {
        private List<String> cniPath = List.of("/opt/cni/bin");
        private Path cacheDir = ResultCache.DEFAULT_DIR;
        private Duration timeout = Duration.ofSeconds(60);
        private PluginCall.Listener listener = PluginCall.Listener.NONE;
        private Map<String, String> environment = Map.of();
        private java.io.PrintStream stderr;

        /** Directories searched for plugin executables, in order (and passed on as CNI_PATH). */
        public Builder cniPath(List<String> dirs) {
            this.cniPath = List.copyOf(dirs);
            return this;
        }

        /** A CNI_PATH-style string, directories separated by ':'. */
        public Builder cniPath(String path) {
            List<String> l = new ArrayList<>();
            for (String d : path.split(":")) {
                if (!d.isEmpty()) {
                    l.add(d);
                }
            }
            return cniPath(l);
        }

        /** The cache root; results go to {@code <dir>/results}. */
        public Builder cacheDir(Path dir) {
            this.cacheDir = dir;
            return this;
        }

        /** How long one plugin execution may take before it (and its children) are killed. */
        public Builder timeout(Duration t) {
            this.timeout = t;
            return this;
        }

        /** Told about every plugin execution (env, stdin, stdout, stderr, time). */
        public Builder listener(PluginCall.Listener l) {
            this.listener = l;
            return this;
        }

        /** Variables added to the inherited environment of every plugin (the CNI_* ones win). */
        public Builder environment(Map<String, String> env) {
            this.environment = Map.copyOf(env);
            return this;
        }

        /**
         * Where a successful plugin's stderr is copied (libcni copies it to the runtime's
         * stderr); none by default. A failed plugin's stderr is in its error either way.
         */
        public Builder stderr(java.io.PrintStream sink) {
            this.stderr = sink;
            return this;
        }

        public CniRuntime build() {
            return new CniRuntime(this);
        }
    }

    // ---- configuration ----

    /** Every configuration in {@code dir} (see {@link ConfLoader#loadAll}), with per-file errors. */
    public static NetworkConfigs loadNetworks(Path dir) throws ConfException {
        return ConfLoader.loadAll(dir);
    }

    /** The network {@code name} from {@code dir} (see {@link ConfLoader#load}). */
    public static NetworkConfigList loadNetwork(Path dir, String name) throws ConfException {
        return ConfLoader.load(dir, name);
    }

    public ResultCache cache() {
        return cache;
    }

    // ---- ADD ----

    /** Runs ADD on every plugin in order, each given the previous one's result; caches and returns the last result. */
    public NetworkResult add(NetworkConfigList list, RuntimeConf rt) throws CniError {
        validateAttachment(list, rt, true);
        String version = list.effectiveVersion();
        return shared(rt.containerId(), () -> {
            Map<String, Object> prev = null;
            for (PluginConfig p : list.plugins()) {
                byte[] stdin = request(p, list, version, prev, rt.capabilityArgs());
                PluginExecutor.Output out;
                try {
                    out = exec.run(p.type(), env("ADD", rt), stdin);
                    prev = parseResult(out.stdout(), version);
                } catch (CniError e) {
                    throw wrap(p, "add", e);
                }
            }
            try {
                cache.write(list, rt, prev);
            } catch (IOException e) {
                throw new CniError(
                        CniError.IO_FAILURE,
                        "failed to set network \"" + list.name() + "\" cached result",
                        e.toString());
            }
            return new NetworkResult((String) prev.get("cniVersion"), prev);
        });
    }

    private static Map<String, Object> parseResult(byte[] stdout, String version) throws CniError {
        if (new String(stdout, java.nio.charset.StandardCharsets.UTF_8).isBlank()) {
            throw new CniError(CniError.DECODING_FAILURE, "plugin exited 0 but printed no result");
        }
        Map<String, Object> m;
        try {
            m = Json.parseObject(stdout);
        } catch (JsonException e) {
            throw new CniError(
                    CniError.DECODING_FAILURE,
                    "plugin printed an invalid result: " + e.getMessage(),
                    abbreviate(new String(stdout, java.nio.charset.StandardCharsets.UTF_8)));
        }
        Object v = m.get("cniVersion");
        if (v == null || "".equals(v)) {
            // a result without a version is in the configuration's version
            Map<String, Object> fixed = new LinkedHashMap<>();
            fixed.put("cniVersion", version);
            m.remove("cniVersion");
            fixed.putAll(m);
            m = fixed;
        } else if (!(v instanceof String)) {
            throw new CniError(
                    CniError.DECODING_FAILURE, "plugin printed an invalid result: cniVersion is a " + Json.typeName(v));
        }
        return m;
    }

    // ---- DEL ----

    /**
     * Runs DEL on every plugin in reverse order, each given the cached final ADD result (config
     * 0.4.0 and later). An unreadable cache file is removed and DEL goes on without prevResult. The
     * cache file is removed when every plugin succeeded, kept otherwise (so a retry has it). When
     * {@code rt} has no capability arguments, those recorded at ADD are used (portmap needs them).
     */
    public void del(NetworkConfigList list, RuntimeConf rt) throws CniError {
        validateAttachment(list, rt, false);
        shared(rt.containerId(), () -> {
            delLocked(list, rt);
            return null;
        });
    }

    private void delLocked(NetworkConfigList list, RuntimeConf rt) throws CniError {
        String version = list.effectiveVersion();
        Map<String, Object> prev = null;
        RuntimeConf effective = rt;
        Optional<CachedAttachment> cached = Optional.empty();
        try {
            cached = cache.read(list.name(), rt.containerId(), rt.ifName());
        } catch (ResultCache.InvalidCacheException e) {
            deleteCache(list, rt); // a torn cache must not make DEL fail forever
        }
        if (cached.isPresent()) {
            if (atLeast(version, CniVersion.V040) && cached.get().result() != null) {
                try {
                    prev = convert(cached.get().result(), version);
                } catch (CniError e) {
                    prev = null; // an unconvertible cached result: DEL without it, as with a torn file
                }
            }
            if (rt.capabilityArgs().isEmpty() && !cached.get().capabilityArgs().isEmpty()) {
                effective = rt.withCapabilityArgs(cached.get().capabilityArgs());
            }
        }
        List<PluginConfig> plugins = list.plugins();
        for (int i = plugins.size() - 1; i >= 0; i--) {
            PluginConfig p = plugins.get(i);
            try {
                exec.run(p.type(), env("DEL", effective), request(p, list, version, prev, effective.capabilityArgs()));
            } catch (CniError e) {
                throw wrap(p, "delete", e);
            }
        }
        deleteCache(list, rt);
    }

    private void deleteCache(NetworkConfigList list, RuntimeConf rt) {
        try {
            cache.delete(list.name(), rt.containerId(), rt.ifName());
        } catch (IOException ignored) {
            // as libcni: a cache that cannot be removed does not fail DEL
        }
    }

    // ---- CHECK ----

    /** Runs CHECK on every plugin in order with the cached result; nothing when {@code disableCheck}. */
    public void check(NetworkConfigList list, RuntimeConf rt) throws CniError {
        if (list.disableCheck()) {
            return;
        }
        String version = list.effectiveVersion();
        if (!atLeast(version, CniVersion.V040)) {
            throw new CniError(
                    CniError.INCOMPATIBLE_VERSION,
                    "configuration version \"" + version + "\" does not support the CHECK command");
        }
        validateAttachment(list, rt, false);
        shared(rt.containerId(), () -> {
            CachedAttachment c;
            try {
                c = cache.read(list.name(), rt.containerId(), rt.ifName())
                        .orElseThrow(() -> new CniError(
                                CniError.UNKNOWN_CONTAINER,
                                "failed to get network \"" + list.name() + "\" cached result",
                                "no attachment of container \"" + rt.containerId() + "\" interface \"" + rt.ifName()
                                        + "\" in " + cache.resultsDir() + " (CHECK needs a prior ADD)"));
            } catch (ResultCache.InvalidCacheException e) {
                throw new CniError(
                        CniError.DECODING_FAILURE,
                        "failed to get network \"" + list.name() + "\" cached result",
                        e.getMessage());
            }
            Map<String, Object> prev = c.result() == null ? null : convert(c.result(), version);
            RuntimeConf effective = rt.capabilityArgs().isEmpty() ? rt.withCapabilityArgs(c.capabilityArgs()) : rt;
            for (PluginConfig p : list.plugins()) {
                try {
                    exec.run(
                            p.type(),
                            env("CHECK", effective),
                            request(p, list, version, prev, effective.capabilityArgs()));
                } catch (CniError e) {
                    throw wrap(p, "check", e);
                }
            }
            return null;
        });
    }

    // ---- STATUS ----

    /** STATUS on every plugin in order (config 1.1.0 and later; success otherwise); the first error, unwrapped. */
    public void status(NetworkConfigList list) throws CniError {
        Names.checkNetworkName(list.name());
        String version = list.effectiveVersion();
        if (!atLeast(version, CniVersion.V110)) {
            return;
        }
        for (PluginConfig p : list.plugins()) {
            exec.run(p.type(), env("STATUS", null), request(p, list, version, null, null));
        }
    }

    // ---- GC ----

    /**
     * libcni's {@code GCNetworkList}: DEL (with the recorded netns, CNI_ARGS and capability
     * arguments) for every cached attachment of this network not in {@code valid}, then GC to
     * every plugin (config 1.1.0 and later) with {@code cni.dev/valid-attachments} (and the legacy
     * {@code cni.dev/attachments}); continues past errors and reports them all. {@code valid}
     * null means "no list": every cached attachment is deleted and the key is not sent (cnitool
     * gc). Nothing at all when {@code disableGC}. Runs exclusively.
     */
    public GcReport gc(NetworkConfigList list, Collection<Attachment> valid) {
        if (list.disableGC()) {
            return new GcReport(List.of(), List.of());
        }
        try {
            Names.checkNetworkName(list.name());
        } catch (CniError e) {
            return new GcReport(List.of(), List.of(e));
        }
        return gcLock.exclusive(() -> {
            List<CniError> errors = new ArrayList<>();
            List<CachedAttachment> deleted = new ArrayList<>();
            Set<Attachment> keep = valid == null ? Set.of() : new HashSet<>(valid);
            for (CachedAttachment a : cache.list(null)) {
                if (!a.networkName().equals(list.name()) || keep.contains(a.attachment())) {
                    continue;
                }
                try {
                    // a cache file's names come from its content: they must pass as a DEL's would
                    validateAttachment(list, a.runtimeConf(), false);
                    delLocked(list, a.runtimeConf());
                    deleted.add(a);
                } catch (CniError e) {
                    errors.add(e);
                }
            }
            String version = list.effectiveVersion();
            boolean gcVerb;
            try {
                gcVerb = atLeast(version, CniVersion.V110);
            } catch (CniError e) {
                errors.add(e);
                gcVerb = false;
            }
            if (gcVerb) {
                List<Object> validJson = null;
                if (valid != null) {
                    validJson = new ArrayList<>();
                    for (Attachment a : valid) {
                        Map<String, Object> o = new LinkedHashMap<>();
                        o.put("containerID", a.containerId());
                        o.put("ifname", a.ifName());
                        validJson.add(o);
                    }
                }
                for (PluginConfig p : list.plugins()) {
                    try {
                        Map<String, Object> req = requestMap(p, list, version, null, null);
                        if (validJson != null) {
                            req.put("cni.dev/valid-attachments", validJson);
                            req.put("cni.dev/attachments", validJson);
                        }
                        exec.run(
                                p.type(),
                                env("GC", null),
                                Json.write(req).getBytes(java.nio.charset.StandardCharsets.UTF_8));
                    } catch (CniError e) {
                        errors.add(new CniError(
                                e.code(), "failed to GC plugin " + p.type() + ": " + e.msg(), e.details()));
                    }
                }
            }
            return new GcReport(deleted, errors);
        });
    }

    // ---- cache queries ----

    /** The cached attachment (libcni's {@code GetNetworkListCachedConfig}/{@code GetNetworkListCachedResult}). */
    public Optional<CachedAttachment> cached(String network, String containerId, String ifName)
            throws ResultCache.InvalidCacheException {
        return cache.read(network, containerId, ifName);
    }

    /** {@code GetCachedAttachments}: every readable cached attachment, of one container or (null) all. */
    public List<CachedAttachment> cachedAttachments(String containerId) {
        return cache.list(containerId);
    }

    // ---- helpers ----

    /** Runs an ADD/DEL/CHECK: shared against GC, exclusive per container ID. */
    private <T> T shared(String containerId, GcLock.Body<T, CniError> body) throws CniError {
        java.util.concurrent.locks.ReentrantLock l =
                containerLocks.computeIfAbsent(containerId, k -> new java.util.concurrent.locks.ReentrantLock());
        l.lock();
        try {
            return gcLock.shared(body);
        } finally {
            l.unlock();
        }
    }

    /**
     * On every verb (libcni validates only on ADD): the network name and container ID name
     * the cache file and the plugins' state (host-local's directory), so a DEL, CHECK or GC with
     * {@code ../x} in either would reach outside them. Only the interface name's length and the
     * names {@code .}/{@code ..} are left to ADD, so an attachment made by another runtime can
     * still be deleted.
     */
    private static void validateAttachment(NetworkConfigList list, RuntimeConf rt, boolean add) throws CniError {
        Names.checkContainerId(rt.containerId());
        Names.checkNetworkName(list.name());
        if (add) {
            Names.checkIfname(rt.ifName());
        } else {
            Names.checkExistingIfname(rt.ifName());
        }
    }

    /** The six CNI_* variables (CNI_PATH added by the executor); empty strings where unset, as libcni. */
    private static Map<String, String> env(String command, RuntimeConf rt) {
        Map<String, String> e = new LinkedHashMap<>();
        e.put("CNI_COMMAND", command);
        e.put("CNI_CONTAINERID", rt == null ? "" : rt.containerId());
        e.put("CNI_NETNS", rt == null ? "" : rt.netns());
        e.put("CNI_IFNAME", rt == null ? "" : rt.ifName());
        e.put("CNI_ARGS", rt == null ? "" : rt.cniArgs());
        return e;
    }

    private static byte[] request(
            PluginConfig p,
            NetworkConfigList list,
            String version,
            Map<String, Object> prev,
            Map<String, Object> caps) {
        return Json.write(requestMap(p, list, version, prev, caps)).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    /**
     * The plugin object with {@code cniVersion} and {@code name} overwritten, {@code runtimeConfig}
     * replaced by the opted-in capability arguments (when any matched), {@code prevResult} set, and
     * {@code capabilities} removed (the spec says a request must not carry it; libcni leaves it).
     */
    static Map<String, Object> requestMap(
            PluginConfig p,
            NetworkConfigList list,
            String version,
            Map<String, Object> prev,
            Map<String, Object> caps) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cniVersion", version);
        m.put("name", list.name());
        for (Map.Entry<String, Object> e : p.config().entrySet()) {
            if (!e.getKey().equals("cniVersion")
                    && !e.getKey().equals("name")
                    && !e.getKey().equals("capabilities")) {
                m.put(e.getKey(), e.getValue());
            }
        }
        if (caps != null) {
            Map<String, Object> rc = new LinkedHashMap<>();
            for (String cap : p.capabilities()) {
                if (caps.containsKey(cap)) {
                    rc.put(cap, caps.get(cap));
                }
            }
            if (!rc.isEmpty()) {
                m.put("runtimeConfig", rc);
            }
        }
        if (prev != null) {
            m.put("prevResult", prev);
        }
        return m;
    }

    /** A cached result in {@code version}: as-is when the version matches, else via {@link Result}. */
    static Map<String, Object> convert(Map<String, Object> result, String version) throws CniError {
        Object from = result.get("cniVersion");
        if (version.equals(from)) {
            return result;
        }
        if (!(from instanceof String f) || !CniVersion.isSupported(f)) {
            throw new CniError(
                    CniError.INCOMPATIBLE_VERSION, "no converter for CNI result version " + from + " to " + version);
        }
        if (!CniVersion.isSupported(version)) {
            throw new CniError(
                    CniError.INCOMPATIBLE_VERSION, "no converter for CNI result version " + from + " to " + version);
        }
        return Result.parse(result, "prevResult").toJson(version);
    }

    private static boolean atLeast(String version, String min) throws CniError {
        return CniVersion.atLeast(version, min);
    }

    private static CniError wrap(PluginConfig p, String op, CniError e) {
        return new CniError(e.code(), "plugin type=\"" + p.type() + "\" failed (" + op + "): " + e.msg(), e.details());
    }

    private static String abbreviate(String s) {
        s = s.strip();
        return s.length() > 200 ? s.substring(0, 200) + "…" : s;
    }
}
