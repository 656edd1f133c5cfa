package io.jcni.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.stream.Stream;

/**
 * The named network namespaces of one test ({@code ip netns} compatible, under /run/netns): those it
 * creates and those it expects the code under test to create, all deleted by {@link #close()},
 * also when the test failed. Use it in try-with-resources, or as a field closed by JUnit
 * ({@code @AutoClose}, after each test for an instance field, after the class for a static one).
 *
 * <p>It works through iproute2 ({@code ip netns add/delete}) rather than jcni's own namespace code:
 * the test support sits below the kernel module, whose tests use it too, and a fixture that does
 * not share the code under test cannot hide its bugs.
 */
public final class TestNetns implements AutoCloseable {
    /** Where named namespaces are bind-mounted, as iproute2 and jcni agree. */
    public static final Path DIR = Path.of("/run/netns");

    private final Deque<String> names = new ArrayDeque<>();

    /** Creates the namespace {@code name} (it must not exist) and returns its path, for CNI_NETNS. */
    public String create(String name) {
        Commands.run("ip", "netns", "add", name);
        adopt(name); // only once it is ours: a name that existed already belongs to someone else
        return path(name);
    }

    /** Deletes the namespace {@code name} at close if it exists then (the code under test creates it); returns {@code name}. */
    public String adopt(String name) {
        synchronized (names) {
            if (!names.contains(name)) {
                names.push(name);
            }
        }
        return name;
    }

    /**
     * Deletes at close every namespace whose name starts with {@code prefix} and exists now (those
     * the code under test made under a test's own prefix, however many); returns their names.
     */
    public List<String> adoptExisting(String prefix) {
        if (prefix.isEmpty()) {
            throw new IllegalArgumentException("an empty prefix would take every namespace of the machine");
        }
        List<String> found = new ArrayList<>();
        try (Stream<Path> s = Files.list(DIR)) {
            s.map(p -> p.getFileName().toString())
                    .filter(n -> n.startsWith(prefix))
                    .sorted()
                    .forEach(found::add);
        } catch (NoSuchFileException none) {
            return List.of();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        found.forEach(this::adopt);
        return found;
    }

    /** Deletes the namespace {@code name} now if it exists, and not again at close. */
    public void delete(String name) {
        deleteIfExists(name);
        synchronized (names) {
            names.remove(name);
        }
    }

    /** The namespaces this fixture deletes at close, newest first. */
    public List<String> names() {
        synchronized (names) {
            return List.copyOf(names);
        }
    }

    public static String path(String name) {
        return DIR.resolve(name).toString();
    }

    /** The name of a namespace given by its path under /run/netns (for {@code ip -n}). */
    public static String nameOf(String path) {
        return Path.of(path).getFileName().toString();
    }

    public static boolean exists(String name) {
        return Files.exists(DIR.resolve(name), LinkOption.NOFOLLOW_LINKS);
    }

    /** {@code ip netns delete NAME} when /run/netns/NAME exists. */
    public static void deleteIfExists(String name) {
        if (exists(name)) {
            Commands.run("ip", "netns", "delete", name);
        }
    }

    /**
     * Deletes every namespace, newest first, going on past failures; then fails if one is still
     * there, so that a leak is seen (added to the test's own failure, if it had one).
     */
    @Override
    public void close() {
        List<String> all;
        synchronized (names) {
            all = List.copyOf(names);
            names.clear();
        }
        List<String> problems = new ArrayList<>();
        for (String name : all) {
            try {
                deleteIfExists(name);
            } catch (RuntimeException e) {
                problems.add(e.getMessage());
            }
        }
        List<String> left = all.stream().filter(TestNetns::exists).toList();
        if (!left.isEmpty()) {
            throw new IllegalStateException(
                    "namespaces left: " + left + (problems.isEmpty() ? "" : "\n" + String.join("\n", problems)));
        }
    }
}
