package io.jcni.cni.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Files that a reader sees whole or not at all: a temporary file in the same directory, written
 * and fsynced, renamed over the target, then the directory fsynced. A crash at any instant leaves
 * either the old content or the new one, never a torn file; a reader never sees a half-written one.
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    /**
     * Replaces {@code file} with {@code data}, mode {@code perms} (e.g. {@code rw-------}). A missing
     * parent directory is created with {@code dirPerms}.
     */
    public static void write(Path file, byte[] data, String perms, String dirPerms) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(
                    dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(dirPerms)));
        }
        Path tmp = Files.createTempFile(
                dir,
                "." + file.getFileName() + ".",
                ".tmp",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(perms)));
        try {
            try (FileChannel ch =
                    FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer b = ByteBuffer.wrap(data);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                ch.force(true);
            }
            renameIntoPlace(tmp, file, perms);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Puts {@code finished}, a file another writer (a process) completed in {@code target}'s
     * directory, in place as {@code target} with mode {@code perms}: fsynced, renamed over the
     * target, the directory fsynced. On failure {@code finished} is left for the caller to remove.
     */
    public static void moveIntoPlace(Path finished, Path target, String perms) throws IOException {
        try (FileChannel ch = FileChannel.open(finished, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        renameIntoPlace(finished, target, perms);
    }

    /** Sets the mode, renames {@code synced} over {@code target}, fsyncs the directory. */
    private static void renameIntoPlace(Path synced, Path target, String perms) throws IOException {
        // a created file's mode is filtered by the umask; the target's mode must not be
        Files.setPosixFilePermissions(synced, PosixFilePermissions.fromString(perms));
        Files.move(synced, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        try (FileChannel d = FileChannel.open(target.toAbsolutePath().getParent(), StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException ignored) {
            // directory fsync is best effort (not every file system allows it)
        }
    }
}
