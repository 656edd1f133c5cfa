package io.jcni.runtime;

/** An attachment's identity within a network: {@code (CNI_CONTAINERID, CNI_IFNAME)} (for GC's valid set). */
public record Attachment(String containerId, String ifName) {}
