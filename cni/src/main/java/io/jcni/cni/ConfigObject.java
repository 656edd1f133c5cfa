package io.jcni.cni;

import io.jcni.cni.json.Json;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Typed, validating reads from a JSON object of the configuration. A missing key gives the
 * default; a key of the wrong JSON type is an "invalid network configuration" error (code 7)
 * that names the key by its path ({@code ipam.ranges[0][1].subnet}) and the types involved.
 */
public final class ConfigObject {
    private final Map<String, Object> map;
    private final String path;

    public ConfigObject(Map<String, Object> map, String path) {
        this.map = map;
        this.path = path;
    }

    public Map<String, Object> map() {
        return map;
    }

    public String path() {
        return path;
    }

    public boolean has(String key) {
        return map.containsKey(key) && map.get(key) != null;
    }

    public Object raw(String key) {
        return map.get(key);
    }

    private String where(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    private CniError wrongType(String key, String expected) {
        return CniError.invalidConfig(where(key) + ": expected " + expected + ", got " + Json.typeName(map.get(key)));
    }

    public String string(String key, String dflt) throws CniError {
        Object v = map.get(key);
        if (v == null) {
            return dflt;
        }
        if (!(v instanceof String s)) {
            throw wrongType(key, "string");
        }
        return s;
    }

    public String requireString(String key) throws CniError {
        String s = string(key, null);
        if (s == null || s.isEmpty()) {
            throw CniError.invalidConfig(where(key) + " is required");
        }
        return s;
    }

    public boolean bool(String key, boolean dflt) throws CniError {
        Object v = map.get(key);
        if (v == null) {
            return dflt;
        }
        if (!(v instanceof Boolean b)) {
            throw wrongType(key, "bool");
        }
        return b;
    }

    /** An integer in [min, max]; a fraction or out-of-range value is an error naming the range. */
    public long integer(String key, long dflt, long min, long max) throws CniError {
        Object v = map.get(key);
        if (v == null) {
            return dflt;
        }
        long n;
        if (v instanceof Long l) {
            n = l;
        } else if (v instanceof Double d && d == Math.rint(d) && !d.isInfinite()) {
            n = d.longValue();
        } else {
            throw wrongType(key, "integer");
        }
        if (n < min || n > max) {
            throw CniError.invalidConfig(where(key) + ": " + n + " is out of range [" + min + ", " + max + "]");
        }
        return n;
    }

    @SuppressWarnings("unchecked")
    public ConfigObject object(String key) throws CniError {
        Object v = map.get(key);
        if (v == null) {
            return null;
        }
        if (!(v instanceof Map)) {
            throw wrongType(key, "object");
        }
        return new ConfigObject((Map<String, Object>) v, where(key));
    }

    @SuppressWarnings("unchecked")
    public List<Object> list(String key) throws CniError {
        Object v = map.get(key);
        if (v == null) {
            return null;
        }
        if (!(v instanceof List)) {
            throw wrongType(key, "array");
        }
        return (List<Object>) v;
    }

    /** A list of objects, each wrapped with its index in the path. */
    @SuppressWarnings("unchecked")
    public List<ConfigObject> objects(String key) throws CniError {
        List<Object> l = list(key);
        List<ConfigObject> out = new ArrayList<>();
        if (l == null) {
            return out;
        }
        for (int i = 0; i < l.size(); i++) {
            if (!(l.get(i) instanceof Map)) {
                throw CniError.invalidConfig(
                        where(key) + "[" + i + "]: expected object, got " + Json.typeName(l.get(i)));
            }
            out.add(new ConfigObject((Map<String, Object>) l.get(i), where(key) + "[" + i + "]"));
        }
        return out;
    }

    /** A list of strings. */
    public List<String> strings(String key) throws CniError {
        List<Object> l = list(key);
        List<String> out = new ArrayList<>();
        if (l == null) {
            return out;
        }
        for (int i = 0; i < l.size(); i++) {
            if (!(l.get(i) instanceof String s)) {
                throw CniError.invalidConfig(
                        where(key) + "[" + i + "]: expected string, got " + Json.typeName(l.get(i)));
            }
            out.add(s);
        }
        return out;
    }

    public IpAddress ip(String key) throws CniError {
        String s = string(key, null);
        if (s == null || s.isEmpty()) {
            return null;
        }
        IpAddress a = IpAddress.tryParse(s);
        if (a == null) {
            throw CniError.invalidConfig(where(key) + ": invalid IP address \"" + s + "\"");
        }
        return a;
    }

    public IpPrefix prefix(String key) throws CniError {
        String s = string(key, null);
        if (s == null || s.isEmpty()) {
            return null;
        }
        try {
            return IpPrefix.parse(s);
        } catch (IllegalArgumentException e) {
            throw CniError.invalidConfig(where(key) + ": " + e.getMessage());
        }
    }
}
