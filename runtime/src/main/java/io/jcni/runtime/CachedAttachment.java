package io.jcni.runtime;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * One entry of the result cache ({@code <cacheDir>/results/<network>-<containerId>-<ifName>}),
 * libcni's {@code cachedInfo}.
 *
 * @param containerId    CNI_CONTAINERID at ADD
 * @param networkName    the network
 * @param ifName         CNI_IFNAME at ADD
 * @param config         the network configuration's bytes at ADD (empty for a legacy cache file)
 * @param netns          CNI_NETNS at ADD ("" if not recorded)
 * @param cniArgs        CNI_ARGS pairs at ADD
 * @param capabilityArgs capability arguments at ADD
 * @param result         the final ADD result, or null
 * @param file           the cache file
 */
public record CachedAttachment(
        String containerId,
        String networkName,
        String ifName,
        byte[] config,
        String netns,
        List<Map.Entry<String, String>> cniArgs,
        Map<String, Object> capabilityArgs,
        Map<String, Object> result,
        Path file) {
    public CachedAttachment {
        config = config == null ? new byte[0] : config.clone();
        netns = netns == null ? "" : netns;
        cniArgs = cniArgs == null ? List.of() : List.copyOf(cniArgs);
        capabilityArgs = capabilityArgs == null ? Map.of() : capabilityArgs;
    }

    @Override
    public byte[] config() {
        return config.clone();
    }

    public Attachment attachment() {
        return new Attachment(containerId, ifName);
    }

    /** The runtime parameters recorded at ADD. */
    public RuntimeConf runtimeConf() {
        return new RuntimeConf(containerId, netns, ifName, cniArgs, capabilityArgs);
    }
}
