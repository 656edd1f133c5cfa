package io.jcni.runtime;

import io.jcni.cni.io.AtomicFiles;
import io.jcni.cni.json.Json;
import io.jcni.cni.json.JsonException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * libcni's result cache, file for file: {@code <cacheDir>/results/<network>-<containerId>-<ifName>}
 * holding a {@code cniCacheV1} object (keys {@code kind, containerId, config, ifName, networkName,
 * netns, cniArgs, capabilityArgs, result}; {@code config} base64; the last four omitted when
 * empty; compact, map keys sorted, as Go's {@code json.Marshal} writes it). Unlike libcni, files
 * are written atomically (temporary file, fsync, rename, fsync of the directory) so a crash
 * leaves the old file or the new one, never a torn one.
 */
public final class ResultCache {
    /** libcni's default cache root. */
    public static final Path DEFAULT_DIR = Path.of("/var/lib/cni");

    public static final String KIND = "cniCacheV1";

    private final Path root;

    public ResultCache(Path cacheDir) {
        this.root = cacheDir;
    }

    public Path dir() {
        return root;
    }

    public Path resultsDir() {
        return root.resolve("results");
    }

    /** The cache file of an attachment; all three parts must be non-empty. */
    public Path file(String network, String containerId, String ifName) {
        if (network.isEmpty() || containerId.isEmpty() || ifName.isEmpty()) {
            throw new IllegalArgumentException("cache key needs network, container ID and interface name (got \""
                    + network + "\", \"" + containerId + "\", \"" + ifName + "\")");
        }
        return resultsDir().resolve(network + "-" + containerId + "-" + ifName);
    }

    /** Writes the attachment's final ADD result. */
    public Path write(NetworkConfigList list, RuntimeConf rt, Map<String, Object> result) throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("kind", KIND);
        m.put("containerId", rt.containerId());
        m.put("config", Base64.getEncoder().encodeToString(list.bytes()));
        m.put("ifName", rt.ifName());
        m.put("networkName", list.name());
        if (!rt.netns().isEmpty()) {
            m.put("netns", rt.netns());
        }
        if (!rt.args().isEmpty()) {
            List<Object> pairs = new ArrayList<>();
            for (Map.Entry<String, String> e : rt.args()) {
                pairs.add(List.of(e.getKey(), e.getValue()));
            }
            m.put("cniArgs", pairs);
        }
        if (!rt.capabilityArgs().isEmpty()) {
            m.put("capabilityArgs", ConfLoader.sortedDeep(rt.capabilityArgs()));
        }
        if (result != null && !result.isEmpty()) {
            m.put("result", ConfLoader.sortedDeep(result));
        }
        Path f = file(list.name(), rt.containerId(), rt.ifName());
        AtomicFiles.write(f, Json.write(m).getBytes(StandardCharsets.UTF_8), "rw-------", "rwx------");
        return f;
    }

    /** An unreadable or undecodable cache file. */
    public static final class InvalidCacheException extends Exception {
        private static final long serialVersionUID = 1L;

        InvalidCacheException(Path f, String why) {
            super("invalid result cache " + f + ": " + why);
        }
    }

    /**
     * Reads an attachment's cache file: empty if there is none. A file that is not a
     * {@code cniCacheV1} object is read as a legacy bare result, as libcni does.
     */
    public Optional<CachedAttachment> read(String network, String containerId, String ifName)
            throws InvalidCacheException {
        Path f = file(network, containerId, ifName);
        byte[] data;
        try {
            data = Files.readAllBytes(f);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new InvalidCacheException(f, e.toString());
        }
        CachedAttachment a = decode(f, data);
        if (a.config().length == 0 && a.networkName().isEmpty()) {
            // legacy: the file is the bare result
            return Optional.of(new CachedAttachment(
                    containerId, network, ifName, new byte[0], "", List.of(), Map.of(), a.result(), f));
        }
        return Optional.of(a);
    }

    @SuppressWarnings("unchecked")
    static CachedAttachment decode(Path f, byte[] data) throws InvalidCacheException {
        Map<String, Object> m;
        try {
            m = Json.parseObject(data);
        } catch (JsonException e) {
            throw new InvalidCacheException(f, e.getMessage());
        }
        if (!KIND.equals(m.get("kind"))) {
            if (m.get("cniVersion") instanceof String) {
                return new CachedAttachment("", "", "", new byte[0], "", List.of(), Map.of(), m, f);
            }
            throw new InvalidCacheException(f, "neither a " + KIND + " object nor a result");
        }
        try {
            byte[] config =
                    m.get("config") instanceof String s ? Base64.getDecoder().decode(s) : new byte[0];
            List<Map.Entry<String, String>> args = new ArrayList<>();
            if (m.get("cniArgs") instanceof List<?> l) {
                for (Object o : l) {
                    List<Object> pair = (List<Object>) o;
                    args.add(Map.entry((String) pair.get(0), (String) pair.get(1)));
                }
            }
            Map<String, Object> caps =
                    m.get("capabilityArgs") instanceof Map<?, ?> c ? (Map<String, Object>) c : Map.of();
            Map<String, Object> result = m.get("result") instanceof Map<?, ?> r ? (Map<String, Object>) r : null;
            return new CachedAttachment(
                    str(m, "containerId"),
                    str(m, "networkName"),
                    str(m, "ifName"),
                    config,
                    str(m, "netns"),
                    args,
                    caps,
                    result,
                    f);
        } catch (ClassCastException | IndexOutOfBoundsException | IllegalArgumentException e) {
            throw new InvalidCacheException(f, "malformed field: " + e.getMessage());
        }
    }

    private static String str(Map<String, Object> m, String k) {
        Object v = m.get(k);
        if (v != null && !(v instanceof String)) {
            throw new ClassCastException(k + " is not a string");
        }
        return v == null ? "" : (String) v;
    }

    public boolean delete(String network, String containerId, String ifName) throws IOException {
        return Files.deleteIfExists(file(network, containerId, ifName));
    }

    /**
     * {@code GetCachedAttachments}: every readable {@code cniCacheV1} entry with a network and an
     * interface name, in file-name order; {@code containerId} null for all containers.
     */
    public List<CachedAttachment> list(String containerId) {
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(resultsDir())) {
            for (Path p : ds) {
                String n = p.getFileName().toString();
                if (!n.startsWith(".")
                        && Files.isRegularFile(p)
                        && (containerId == null || n.contains("-" + containerId + "-"))) {
                    files.add(p);
                }
            }
        } catch (IOException e) {
            return List.of();
        }
        files.sort(null);
        List<CachedAttachment> out = new ArrayList<>();
        for (Path p : files) {
            try {
                CachedAttachment a = decode(p, Files.readAllBytes(p));
                if (a.networkName().isEmpty()
                        || a.ifName().isEmpty()
                        || (containerId != null && !containerId.equals(a.containerId()))) {
                    continue;
                }
                out.add(a);
            } catch (IOException | InvalidCacheException e) {
                // libcni skips what it cannot read
            }
        }
        return out;
    }
}
