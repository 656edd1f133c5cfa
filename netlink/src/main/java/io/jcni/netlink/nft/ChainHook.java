package io.jcni.netlink.nft;

/**
 * What makes a chain a base chain: its type ({@code nat}, {@code filter}, {@code route}), the
 * netfilter hook it is attached to ({@code prerouting}, {@code input}, {@code forward},
 * {@code output}, {@code postrouting}), its priority and its policy ({@code accept} or {@code drop}).
 */
public record ChainHook(String type, String hook, int priority, String policy) {
    public ChainHook {
        if (hookNumber(hook) < 0) {
            throw new IllegalArgumentException("unknown netfilter hook: " + hook);
        }
        if (!"accept".equals(policy) && !"drop".equals(policy)) {
            throw new IllegalArgumentException("a chain policy is accept or drop, not " + policy);
        }
    }

    /** {@code type nat hook HOOK priority PRIORITY} (100 = srcnat for postrouting, -100 = dstnat for prerouting). */
    public static ChainHook nat(String hook, int priority) {
        return new ChainHook("nat", hook, priority, "accept");
    }

    /** {@code type filter hook HOOK priority PRIORITY; policy accept}. */
    public static ChainHook filter(String hook, int priority) {
        return new ChainHook("filter", hook, priority, "accept");
    }

    public ChainHook withPolicy(String newPolicy) {
        return new ChainHook(type, hook, priority, newPolicy);
    }

    int hookNumber() {
        return hookNumber(hook);
    }

    static int hookNumber(String hook) {
        for (int i = 0; i < Nft.HOOKS.length; i++) {
            if (Nft.HOOKS[i].equals(hook)) {
                return i;
            }
        }
        return -1;
    }

    /** The nft text inside the chain's braces: {@code type nat hook postrouting priority 100 ; policy accept ;}. */
    String text() {
        return "type " + type + " hook " + hook + " priority " + priority + " ; policy " + policy + " ;";
    }
}
