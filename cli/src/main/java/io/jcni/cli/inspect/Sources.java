package io.jcni.cli.inspect;

import java.nio.file.Path;
import java.util.List;

/**
 * Where a view reads the node from: its namespace ({@code --netns}, null for the caller's) and the
 * CNI state the runtime side keeps — the configuration directory and plugin path (from
 * {@code NETCONFPATH} and {@code CNI_PATH}, as {@code jcni add} reads them), libcni's cache root,
 * the plugin socket and the agent's subnet file (both overridden by a running agent's flags).
 */
public record Sources(String netns, Path netconf, List<String> cniPath, Path cacheDir, Path socket, Path subnetFile) {}
