package io.jcni.cni.json;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * JSON as plain Java values: {@code Map<String,Object>} (insertion-ordered), {@code List<Object>},
 * {@code String}, {@code Long} or {@code Double}, {@code Boolean} and {@code null}. Parsing uses
 * jackson-core's streaming parser (no data binding: far fewer classes at start-up); writing is
 * done here, in the same shape Go's {@code encoding/json} gives (the reference plugins' output):
 * {@code "key": value}, four-space indentation, HTML characters escaped.
 */
public final class Json {
    private Json() {}

    private static final JsonFactory FACTORY = JsonFactory.builder()
            .streamReadConstraints(
                    StreamReadConstraints.builder().maxNestingDepth(64).build())
            .build();

    /** Parses one JSON document; trailing content is an error. */
    public static Object parse(byte[] data) throws JsonException {
        try (JsonParser p = FACTORY.createParser(data)) {
            JsonToken t = p.nextToken();
            if (t == null) {
                throw new JsonException("unexpected end of JSON input");
            }
            Object v = read(p, t);
            if (p.nextToken() != null) {
                throw new JsonException("invalid character after top-level value at " + location(p));
            }
            return v;
        } catch (IOException e) {
            throw new JsonException(e.getMessage() == null ? e.toString() : firstLine(e.getMessage()));
        }
    }

    public static Object parse(String text) throws JsonException {
        return parse(text.getBytes(StandardCharsets.UTF_8));
    }

    /** Parses a document that must be a JSON object. */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> parseObject(byte[] data) throws JsonException {
        Object v = parse(data);
        if (!(v instanceof Map)) {
            throw new JsonException("expected a JSON object, got " + typeName(v));
        }
        return (Map<String, Object>) v;
    }

    private static Object read(JsonParser p, JsonToken t) throws IOException, JsonException {
        switch (t) {
            case START_OBJECT: {
                Map<String, Object> m = new LinkedHashMap<>();
                for (JsonToken k = p.nextToken(); k != JsonToken.END_OBJECT; k = p.nextToken()) {
                    String name = p.currentName();
                    m.put(name, read(p, p.nextToken()));
                }
                return m;
            }
            case START_ARRAY: {
                List<Object> l = new ArrayList<>();
                for (JsonToken v = p.nextToken(); v != JsonToken.END_ARRAY; v = p.nextToken()) {
                    l.add(read(p, v));
                }
                return l;
            }
            case VALUE_STRING:
                return p.getText();
            // Numbers are converted from their text here: jackson's NumberInput compiles two regular
            // expressions in its static initialiser, a cost every plugin start would pay.
            case VALUE_NUMBER_INT: {
                String text = p.getText();
                try {
                    return Long.parseLong(text);
                } catch (NumberFormatException tooBig) {
                    return Double.parseDouble(text);
                }
            }
            case VALUE_NUMBER_FLOAT:
                return Double.parseDouble(p.getText());
            case VALUE_TRUE:
                return Boolean.TRUE;
            case VALUE_FALSE:
                return Boolean.FALSE;
            case VALUE_NULL:
                return null;
            default:
                throw new JsonException("unexpected token " + t + " at " + location(p));
        }
    }

    private static String location(JsonParser p) {
        return "offset " + p.currentLocation().getByteOffset();
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    /** "object", "array", "string", "number", "bool" or "null": for messages about wrong types. */
    public static String typeName(Object v) {
        if (v == null) {
            return "null";
        }
        if (v instanceof Map) {
            return "object";
        }
        if (v instanceof List) {
            return "array";
        }
        if (v instanceof String) {
            return "string";
        }
        if (v instanceof Boolean) {
            return "bool";
        }
        return "number";
    }

    /** Compact JSON. */
    public static String write(Object value) {
        StringBuilder sb = new StringBuilder(256);
        write(sb, value, null, 0);
        return sb.toString();
    }

    /** JSON indented by four spaces per level, as Go's {@code json.MarshalIndent(v, "", "    ")}. */
    public static String writeIndented(Object value) {
        StringBuilder sb = new StringBuilder(512);
        write(sb, value, "    ", 0);
        return sb.toString();
    }

    public static byte[] writeIndentedBytes(Object value) {
        return writeIndented(value).getBytes(StandardCharsets.UTF_8);
    }

    private static void newline(StringBuilder sb, String indent, int depth) {
        if (indent != null) {
            sb.append('\n');
            for (int i = 0; i < depth; i++) {
                sb.append(indent);
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static void write(StringBuilder sb, Object v, String indent, int depth) {
        if (v == null) {
            sb.append("null");
        } else if (v instanceof String s) {
            quote(sb, s);
        } else if (v instanceof Boolean b) {
            sb.append(b.booleanValue());
        } else if (v instanceof Double d) {
            if (d == Math.rint(d) && Math.abs(d) < 1e15) {
                sb.append((long) d.doubleValue());
            } else {
                sb.append(d);
            }
        } else if (v instanceof Number n) {
            sb.append(n.longValue());
        } else if (v instanceof Map<?, ?> m) {
            if (m.isEmpty()) {
                sb.append("{}");
                return;
            }
            sb.append('{');
            boolean first = true;
            for (Map.Entry<String, Object> e : ((Map<String, Object>) m).entrySet()) {
                if (!first) {
                    sb.append(',');
                }
                first = false;
                newline(sb, indent, depth + 1);
                quote(sb, e.getKey());
                sb.append(indent != null ? ": " : ":");
                write(sb, e.getValue(), indent, depth + 1);
            }
            newline(sb, indent, depth);
            sb.append('}');
        } else if (v instanceof List<?> l) {
            if (l.isEmpty()) {
                sb.append("[]");
                return;
            }
            sb.append('[');
            for (int i = 0; i < l.size(); i++) {
                if (i > 0) {
                    sb.append(',');
                }
                newline(sb, indent, depth + 1);
                write(sb, l.get(i), indent, depth + 1);
            }
            newline(sb, indent, depth);
            sb.append(']');
        } else if (v instanceof BigInteger b) {
            sb.append(b);
        } else {
            throw new IllegalArgumentException(
                    "not a JSON value: " + v.getClass().getName());
        }
    }

    /** Quotes as Go does: control characters, quote, backslash, and {@code < > &} U+2028 U+2029 escaped. */
    static void quote(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20 || c == '<' || c == '>' || c == '&' || c == '\u2028' || c == '\u2029') {
                        sb.append("\\u00");
                        if (c >= 0x2028) {
                            sb.setLength(sb.length() - 2);
                            sb.append(Integer.toHexString(c));
                        } else {
                            sb.append(Character.forDigit(c >> 4, 16)).append(Character.forDigit(c & 0xf, 16));
                        }
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
