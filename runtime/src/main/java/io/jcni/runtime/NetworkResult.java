package io.jcni.runtime;

import io.jcni.cni.CniError;
import io.jcni.cni.Result;
import io.jcni.cni.json.Json;
import java.util.Map;

/**
 * A plugin chain's result exactly as the last plugin printed it (any version, 0.1.0 included),
 * with {@link #result()} to read it as jcni's version-neutral {@link Result}.
 */
public record NetworkResult(String cniVersion, Map<String, Object> json) {

    /** The result as a {@link Result} (0.3.0 and later shapes). */
    public Result result() throws CniError {
        return Result.parse(json, "result");
    }

    /** The JSON as libcni and the plugins print it: four-space indentation. */
    public String toJsonString() {
        return Json.writeIndented(json);
    }

    @Override
    public String toString() {
        return Json.write(json);
    }
}
