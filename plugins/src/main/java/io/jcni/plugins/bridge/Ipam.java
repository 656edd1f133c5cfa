package io.jcni.plugins.bridge;

import io.jcni.cni.CniError;
import io.jcni.cni.Delegate;
import io.jcni.cni.Invocation;
import io.jcni.cni.Result;
import io.jcni.cni.json.Json;
import io.jcni.cni.json.JsonException;
import io.jcni.plugins.hostlocal.HostLocal;

/**
 * The bridge's IPAM: our host-local called in-process (no exec, the same store and lock), or
 * any other IPAM plugin executed from CNI_PATH as the spec's delegation protocol says.
 */
abstract class Ipam {
    abstract Result add(Invocation inv) throws CniError;

    abstract void del(Invocation inv) throws CniError;

    abstract void check(Invocation inv) throws CniError;

    abstract void gc(Invocation inv) throws CniError;

    abstract void status(Invocation inv) throws CniError;

    static Ipam of(String type) {
        return type.equals("host-local") || type.equals("jcni-host-local") ? new InProcess() : new Exec(type);
    }

    static final class InProcess extends Ipam {
        private final HostLocal hostLocal = new HostLocal();

        @Override
        Result add(Invocation inv) throws CniError {
            return hostLocal.add(inv);
        }

        @Override
        void del(Invocation inv) throws CniError {
            hostLocal.del(inv);
        }

        @Override
        void check(Invocation inv) throws CniError {
            hostLocal.check(inv);
        }

        @Override
        void gc(Invocation inv) throws CniError {
            hostLocal.gc(inv);
        }

        @Override
        void status(Invocation inv) throws CniError {
            hostLocal.status(inv);
        }
    }

    static final class Exec extends Ipam {
        private final String type;

        Exec(String type) {
            this.type = type;
        }

        @Override
        Result add(Invocation inv) throws CniError {
            byte[] out = Delegate.exec(inv, type, "ADD");
            try {
                return Result.parse(Json.parseObject(out), "IPAM result");
            } catch (JsonException e) {
                throw new CniError(
                        CniError.DELEGATE_FAILED,
                        "IPAM plugin " + type + " returned an unreadable result",
                        e.getMessage());
            }
        }

        @Override
        void del(Invocation inv) throws CniError {
            Delegate.exec(inv, type, "DEL");
        }

        @Override
        void check(Invocation inv) throws CniError {
            Delegate.exec(inv, type, "CHECK");
        }

        @Override
        void gc(Invocation inv) throws CniError {
            Delegate.exec(inv, type, "GC");
        }

        @Override
        void status(Invocation inv) throws CniError {
            Delegate.exec(inv, type, "STATUS");
        }
    }
}
