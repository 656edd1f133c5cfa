package io.jcni.runtime;

/**
 * A network configuration that could not be loaded: the file (or "" when parsed from bytes) and
 * the reason, in libcni's words where libcni has words for it.
 */
public final class ConfException extends Exception {
    private static final long serialVersionUID = 1L;

    private final String file;
    private final String reason;

    public ConfException(String file, String reason) {
        super(file == null || file.isEmpty() ? reason : file + ": " + reason);
        this.file = file == null ? "" : file;
        this.reason = reason;
    }

    /** The file that failed (a path), or "" when the configuration came from bytes. */
    public String file() {
        return file;
    }

    public String reason() {
        return reason;
    }

    ConfException inFile(String f) {
        return new ConfException(f, reason);
    }
}
