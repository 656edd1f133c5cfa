package io.jcni.cni.json;

/** Input that is not valid JSON (or not of the expected shape). */
public final class JsonException extends Exception {
    private static final long serialVersionUID = 1L;

    public JsonException(String message) {
        super(message);
    }
}
