package io.jcni.runtime;

import java.util.List;
import java.util.Optional;

/**
 * Everything found in a configuration directory: the lists that loaded (conflists first, then
 * the lifted {@code .conf}/{@code .json} files, each group in file-name order) and, per file that
 * did not, the reason.
 */
public record NetworkConfigs(String dir, List<NetworkConfigList> networks, List<ConfException> errors) {
    public NetworkConfigs {
        networks = List.copyOf(networks);
        errors = List.copyOf(errors);
    }

    /** The first loaded network with this name (libcni's precedence: .conflist before .conf/.json). */
    public Optional<NetworkConfigList> find(String name) {
        return networks.stream().filter(n -> n.name().equals(name)).findFirst();
    }
}
