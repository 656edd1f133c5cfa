package io.jcni.cli;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.cni.Plugin;
import io.jcni.daemon.Plugins;
import io.jcni.plugins.PluginRegistry;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The registry is the one list of plugins: each entry's main class runs that plugin, the daemon
 * serves exactly the registry, install writes exactly its executables, and the docs describe
 * each plugin. A plugin added to the registry without the rest fails here.
 */
class PluginRegistryTest {
    static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

    @Test
    void eachEntryIsAWholePlugin() throws Exception {
        assertFalse(PluginRegistry.ALL.isEmpty());
        for (PluginRegistry.Entry e : PluginRegistry.ALL) {
            Plugin p = e.factory().get();
            assertEquals(e.name(), p.name(), "the registry's name is the plugin's own");
            assertNotSame(p, e.factory().get(), e.name() + ": a fresh instance per request");
            Method main = Class.forName(e.mainClass()).getMethod("main", String[].class);
            assertTrue(Modifier.isStatic(main.getModifiers()), e.mainClass());
            assertEquals(e, PluginRegistry.byName(e.name()).orElseThrow());
        }
    }

    @Test
    void theDaemonAndInstallFollowTheRegistry() {
        List<String> names =
                PluginRegistry.ALL.stream().map(PluginRegistry.Entry::name).toList();
        assertEquals(names, List.copyOf(Plugins.all().keySet()), "what the daemon serves");
        assertEquals(
                PluginRegistry.ALL.stream()
                        .map(PluginRegistry.Entry::executable)
                        .toList(),
                InstallCommand.PLUGINS.stream()
                        .map(InstallCommand.PluginExe::file)
                        .toList(),
                "what install writes");
        for (InstallCommand.PluginExe p : InstallCommand.PLUGINS) {
            assertEquals(
                    PluginRegistry.byName(p.file().substring("jcni-".length()))
                            .orElseThrow()
                            .mainClass(),
                    p.mainClass());
        }
    }

    @Test
    void theDocsDescribeEachPlugin() throws Exception {
        String plugins = Files.readString(ROOT.resolve("docs/plugins.md"));
        String architecture = Files.readString(ROOT.resolve("docs/architecture.md"));
        String readme = Files.readString(ROOT.resolve("README.md"));
        for (PluginRegistry.Entry e : PluginRegistry.ALL) {
            assertTrue(
                    plugins.contains("`" + e.name() + "`") || plugins.contains("## " + e.name()),
                    "docs/plugins.md describes " + e.name());
            assertTrue(architecture.contains(e.name()), "docs/architecture.md names " + e.name());
            assertTrue(readme.contains(e.name()), "README.md names " + e.name());
        }
    }
}
