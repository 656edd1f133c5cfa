package io.jcni.runtime;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * GC's exclusion (the spec: no two operations on one container at once, and GC alone): ADD/DEL/CHECK hold it shared, GC exclusively, both within
 * this JVM (a read-write lock) and across processes (a shared or exclusive lock on
 * {@code <cacheDir>/jcni.lock}; the JVM holds one shared file lock for all its readers).
 */
final class GcLock {
    private final Path file;
    private final ReentrantReadWriteLock rw = new ReentrantReadWriteLock();
    private final Object sharedGuard = new Object();
    private FileChannel channel;
    private FileLock sharedLock;
    private int sharedCount;

    GcLock(Path file) {
        this.file = file;
    }

    interface Body<T, E extends Exception> {
        T run() throws E;
    }

    <T, E extends Exception> T shared(Body<T, E> body) throws E {
        rw.readLock().lock();
        try {
            synchronized (sharedGuard) {
                if (sharedCount++ == 0) {
                    sharedLock = channel().lock(0, Long.MAX_VALUE, true);
                }
            }
            try {
                return body.run();
            } finally {
                synchronized (sharedGuard) {
                    if (--sharedCount == 0 && sharedLock != null) {
                        sharedLock.release();
                        sharedLock = null;
                    }
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot lock " + file + ": " + e.getMessage(), e);
        } finally {
            rw.readLock().unlock();
        }
    }

    <T, E extends Exception> T exclusive(Body<T, E> body) throws E {
        rw.writeLock().lock();
        try (FileLock ignored = channel().lock(0, Long.MAX_VALUE, false)) {
            return body.run();
        } catch (IOException e) {
            throw new IllegalStateException("cannot lock " + file + ": " + e.getMessage(), e);
        } finally {
            rw.writeLock().unlock();
        }
    }

    private synchronized FileChannel channel() throws IOException {
        if (channel == null || !channel.isOpen()) {
            Files.createDirectories(file.getParent());
            channel = FileChannel.open(
                    file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        }
        return channel;
    }
}
