package io.jcni.runtime;

import io.jcni.cni.CniError;
import io.jcni.cni.CniVersion;
import io.jcni.cni.json.Json;
import io.jcni.cni.json.JsonException;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads network configurations the way libcni does: {@code *.conflist}
 * files, then the deprecated single-plugin {@code *.conf}/{@code *.json} files lifted into a
 * list; each group sorted by file name; the sibling directory {@code <dir>/<name>/*.conf}
 * appended unless {@code loadOnlyInlinedPlugins}. Error texts are libcni's.
 */
public final class ConfLoader {
    private ConfLoader() {}

    /** The newest version libcni (and jcni) implements; newer {@code cniVersions} entries are dropped. */
    static final String CURRENT = CniVersion.LATEST;

    /** Parses a configuration list ({@code NetworkConfFromBytes}); no sibling directory is read. */
    public static NetworkConfigList parseList(byte[] bytes, String file) throws ConfException {
        Map<String, Object> raw;
        try {
            raw = Json.parseObject(bytes);
        } catch (JsonException e) {
            throw new ConfException(file, "error parsing configuration list: " + e.getMessage());
        }
        if (!raw.containsKey("name")) {
            throw new ConfException(file, "error parsing configuration list: no name");
        }
        if (!(raw.get("name") instanceof String name)) {
            throw new ConfException(
                    file, "error parsing configuration list: invalid name type " + Json.typeName(raw.get("name")));
        }
        String cniVersion = "";
        if (raw.containsKey("cniVersion")) {
            if (!(raw.get("cniVersion") instanceof String v)) {
                throw new ConfException(
                        file,
                        "error parsing configuration list: invalid cniVersion type "
                                + Json.typeName(raw.get("cniVersion")));
            }
            cniVersion = v;
        }
        if (raw.containsKey("cniVersions")) {
            cniVersion = selectVersion(file, cniVersion, raw.get("cniVersions"));
        }
        boolean disableCheck = readBool(file, raw, "disableCheck");
        boolean disableGC = readBool(file, raw, "disableGC");
        boolean onlyInlined = readBool(file, raw, "loadOnlyInlinedPlugins");
        List<PluginConfig> plugins = new ArrayList<>();
        if (!raw.containsKey("plugins")) {
            if (onlyInlined) {
                throw new ConfException(
                        file,
                        "error parsing configuration list: `loadOnlyInlinedPlugins` is true, and no 'plugins' key");
            }
        } else {
            if (!(raw.get("plugins") instanceof List<?> l)) {
                throw new ConfException(
                        file,
                        "error parsing configuration list: invalid 'plugins' type "
                                + Json.typeName(raw.get("plugins")));
            }
            if (l.isEmpty()) {
                throw new ConfException(file, "error parsing configuration list: no plugins in list");
            }
            for (int i = 0; i < l.size(); i++) {
                try {
                    plugins.add(plugin(l.get(i), file));
                } catch (ConfException e) {
                    throw new ConfException(file, "failed to parse plugin config " + i + ": " + e.reason());
                }
            }
        }
        return new NetworkConfigList(name, cniVersion, disableCheck, disableGC, onlyInlined, plugins, bytes, file);
    }

    /** The version of a list: the highest of cniVersions ∪ {cniVersion}, ignoring versions newer than 1.1.0. */
    private static String selectVersion(String file, String cniVersion, Object rawVersions) throws ConfException {
        if (!(rawVersions instanceof List<?> rvs)) {
            throw new ConfException(
                    file,
                    "error parsing configuration list: invalid type for cniVersions: " + Json.typeName(rawVersions));
        }
        List<String> vs = new ArrayList<>();
        for (int i = 0; i < rvs.size(); i++) {
            if (!(rvs.get(i) instanceof String v)) {
                throw new ConfException(
                        file,
                        "error parsing configuration list: invalid type for cniVersions index " + i + ": "
                                + Json.typeName(rvs.get(i)));
            }
            try {
                if (CniVersion.compare(v, CURRENT) <= 0) {
                    vs.add(v);
                }
            } catch (CniError e) {
                throw new ConfException(
                        file,
                        "error parsing configuration list: invalid cniVersions entry " + v + " at index " + i + ": "
                                + e.getMessage());
            }
        }
        if (!cniVersion.isEmpty()) {
            try {
                if (CniVersion.compare(cniVersion, CURRENT) <= 0) {
                    vs.add(cniVersion);
                }
            } catch (CniError e) {
                throw new ConfException(
                        file,
                        "error parsing configuration list: invalid cniVersion " + cniVersion + ": " + e.getMessage());
            }
        }
        String best = null;
        for (String v : vs) {
            try {
                if (best == null || CniVersion.compare(v, best) > 0) {
                    best = v;
                }
            } catch (CniError e) {
                throw new ConfException(file, "error parsing configuration list: " + e.getMessage()); // validated above
            }
        }
        if (best == null) {
            best = cniVersion;
        }
        return best;
    }

    private static boolean readBool(String file, Map<String, Object> raw, String key) throws ConfException {
        Object v = raw.get(key);
        if (!raw.containsKey(key)) {
            return false;
        }
        if (v instanceof Boolean b) {
            return b;
        }
        if (!(v instanceof String s)) {
            throw new ConfException(
                    file, "error parsing configuration list: invalid type " + Json.typeName(v) + " for " + key);
        }
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default ->
                throw new ConfException(
                        file,
                        "error parsing configuration list: invalid value \"" + s.toLowerCase(Locale.ROOT) + "\" for "
                                + key);
        };
    }

    /** One plugin object ({@code NetworkPluginConfFromBytes}): an object with a non-empty string {@code type}. */
    @SuppressWarnings("unchecked")
    private static PluginConfig plugin(Object o, String source) throws ConfException {
        if (!(o instanceof Map<?, ?> m)) {
            throw new ConfException(source, "error parsing configuration: expected an object, got " + Json.typeName(o));
        }
        Map<String, Object> map = (Map<String, Object>) m;
        Object type = map.get("type");
        if (type != null && !(type instanceof String)) {
            throw new ConfException(
                    source, "error parsing configuration: type: expected string, got " + Json.typeName(type));
        }
        if (type == null || ((String) type).isEmpty()) {
            throw new ConfException(source, "error parsing configuration: missing 'type'");
        }
        Object caps = map.get("capabilities");
        if (caps != null && !(caps instanceof Map)) {
            throw new ConfException(
                    source, "error parsing configuration: capabilities: expected object, got " + Json.typeName(caps));
        }
        return new PluginConfig((String) type, map, source);
    }

    private static PluginConfig pluginFromBytes(byte[] bytes, String source) throws ConfException {
        try {
            return plugin(Json.parse(bytes), source);
        } catch (JsonException e) {
            throw new ConfException(source, "error parsing configuration: " + e.getMessage());
        }
    }

    /** Reads a {@code .conflist} file, appending the sibling directory's plugins ({@code NetworkConfFromFile}). */
    public static NetworkConfigList loadListFile(Path path) throws ConfException {
        String file = path.toString();
        NetworkConfigList list = parseList(read(path), file);
        List<PluginConfig> plugins = new ArrayList<>(list.plugins());
        if (!list.loadOnlyInlinedPlugins()) {
            Path sibling;
            try {
                sibling = path.toAbsolutePath().getParent().resolve(list.name());
            } catch (java.nio.file.InvalidPathException e) {
                // a name no directory can have (a NUL byte): there is no sibling directory to read
                throw new ConfException(
                        file,
                        "error parsing configuration list: invalid name \"" + list.name() + "\": " + e.getReason());
            }
            for (Path p : confFiles(sibling, List.of(".conf"))) {
                plugins.add(pluginFromBytes(read(p), p.toString()));
            }
        }
        if (plugins.isEmpty()) {
            throw new ConfException(file, "no plugin configs found");
        }
        return new NetworkConfigList(
                list.name(),
                list.cniVersion(),
                list.disableCheck(),
                list.disableGC(),
                list.loadOnlyInlinedPlugins(),
                plugins,
                list.bytes(),
                file);
    }

    /**
     * Reads a deprecated single-plugin {@code .conf}/{@code .json} file and lifts it into a list
     * {@code {"cniVersion", "name", "plugins": [<object>]}} ({@code ConfListFromConf}); the list's
     * bytes are that object as Go marshals it (keys sorted, compact).
     */
    public static NetworkConfigList loadSingleFile(Path path) throws ConfException {
        String file = path.toString();
        PluginConfig p = pluginFromBytes(read(path), file);
        Object name = p.config().get("name");
        Object version = p.config().get("cniVersion");
        if (name != null && !(name instanceof String)) {
            throw new ConfException(
                    file, "error parsing configuration: name: expected string, got " + Json.typeName(name));
        }
        if (version != null && !(version instanceof String)) {
            throw new ConfException(
                    file, "error parsing configuration: cniVersion: expected string, got " + Json.typeName(version));
        }
        Map<String, Object> list = new LinkedHashMap<>();
        list.put("cniVersion", version == null ? "" : version);
        list.put("name", name == null ? "" : name);
        list.put("plugins", List.of(p.config()));
        byte[] bytes = Json.write(sortedDeep(list)).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        NetworkConfigList l = parseList(bytes, file);
        return new NetworkConfigList(
                l.name(),
                l.cniVersion(),
                l.disableCheck(),
                l.disableGC(),
                l.loadOnlyInlinedPlugins(),
                List.of(new PluginConfig(p.type(), p.config(), file)),
                bytes,
                file);
    }

    /** Every configuration in {@code dir}, with a reason per file that did not load. A missing directory is empty. */
    public static NetworkConfigs loadAll(Path dir) throws ConfException {
        List<NetworkConfigList> ok = new ArrayList<>();
        List<ConfException> errors = new ArrayList<>();
        for (Path p : confFiles(dir, List.of(".conflist"))) {
            try {
                ok.add(loadListFile(p));
            } catch (ConfException e) {
                errors.add(e);
            }
        }
        for (Path p : confFiles(dir, List.of(".conf", ".json"))) {
            try {
                ok.add(loadSingleFile(p));
            } catch (ConfException e) {
                errors.add(e);
            }
        }
        return new NetworkConfigs(dir.toString(), ok, errors);
    }

    /**
     * The network called {@code name} ({@code LoadNetworkConf}). Unlike libcni, a broken file that
     * sorts earlier does not hide a good one; if the network is not found, the error names the
     * files that failed, and a failed file that declares the network's name (or is named after it)
     * is reported as itself.
     */
    public static NetworkConfigList load(Path dir, String name) throws ConfException {
        NetworkConfigs all = loadAll(dir);
        var found = all.find(name);
        if (found.isPresent()) {
            return found.get();
        }
        for (ConfException e : all.errors()) {
            if (name.equals(declaredName(Path.of(e.file())))) {
                throw e;
            }
        }
        for (ConfException e : all.errors()) {
            String base = Path.of(e.file()).getFileName().toString();
            int dot = base.lastIndexOf('.');
            if ((dot < 0 ? base : base.substring(0, dot)).equals(name)) {
                throw e;
            }
        }
        if (all.networks().isEmpty() && all.errors().isEmpty()) {
            throw new ConfException("", "no net configurations found in " + dir);
        }
        StringBuilder sb = new StringBuilder("no net configuration with name \"" + name + "\" in " + dir);
        if (!all.errors().isEmpty()) {
            sb.append(" (")
                    .append(all.errors().size())
                    .append(all.errors().size() == 1 ? " file" : " files")
                    .append(" could not be loaded: ");
            for (int i = 0; i < all.errors().size(); i++) {
                sb.append(i == 0 ? "" : "; ").append(all.errors().get(i).getMessage());
            }
            sb.append(')');
        }
        throw new ConfException("", sb.toString());
    }

    /** The {@code name} a file declares, if it is JSON with a string name at all (for error reports). */
    private static String declaredName(Path file) {
        try {
            return Json.parseObject(Files.readAllBytes(file)).get("name") instanceof String s ? s : null;
        } catch (IOException | JsonException | RuntimeException e) {
            return null;
        }
    }

    /** {@code ConfFiles}: regular files of {@code dir} whose extension (from the last dot) is one of {@code exts}, sorted. */
    static List<Path> confFiles(Path dir, List<String> exts) throws ConfException {
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                if (Files.isDirectory(p)) {
                    continue;
                }
                String n = p.getFileName().toString();
                int dot = n.lastIndexOf('.');
                if (dot >= 0 && exts.contains(n.substring(dot))) {
                    out.add(p);
                }
            }
        } catch (NoSuchFileException | java.nio.file.NotDirectoryException e) {
            return out;
        } catch (IOException e) {
            throw new ConfException(dir.toString(), "cannot list configuration directory: " + e);
        }
        out.sort((a, b) -> compareBytes(a.toString(), b.toString()));
        return out;
    }

    private static int compareBytes(String a, String b) {
        return java.util.Arrays.compareUnsigned(
                a.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                b.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    private static byte[] read(Path p) throws ConfException {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new ConfException(
                    p.toString(),
                    "error reading " + p + ": "
                            + (e.getMessage() == null ? e : e.getClass().getSimpleName() + " " + e.getMessage()));
        }
    }

    /** A copy with every object's keys sorted, as Go's {@code json.Marshal} of a map writes them. */
    @SuppressWarnings("unchecked")
    static Object sortedDeep(Object v) {
        if (v instanceof Map<?, ?> m) {
            Map<String, Object> out = new TreeMap<>((a, b) -> compareBytes(a, b));
            for (Map.Entry<?, ?> e : m.entrySet()) {
                out.put((String) e.getKey(), sortedDeep(e.getValue()));
            }
            return new LinkedHashMap<>(out);
        }
        if (v instanceof List<?> l) {
            List<Object> out = new ArrayList<>();
            for (Object o : l) {
                out.add(sortedDeep(o));
            }
            return out;
        }
        return v;
    }
}
