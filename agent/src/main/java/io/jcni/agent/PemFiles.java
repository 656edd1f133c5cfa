package io.jcni.agent;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collection;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the PEM files an etcd client is given: certificates, and a private key in any of the three
 * unencrypted forms that etcd deployments use: PKCS#8 ({@code BEGIN PRIVATE KEY}), PKCS#1
 * ({@code BEGIN RSA PRIVATE KEY}, kubeadm's and cfssl's RSA keys) and SEC1 ({@code BEGIN EC PRIVATE
 * KEY}, cfssl's and openssl's EC keys). The JDK and Netty read only PKCS#8 without an extra provider,
 * so the other two are rewrapped as PKCS#8 here. Every error names the file.
 */
final class PemFiles {
    private static final Pattern BLOCK =
            Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----\\s*([A-Za-z0-9+/=\\s]*?)-----END \\1-----");
    /** AlgorithmIdentifier of rsaEncryption (1.2.840.113549.1.1.1) with its NULL parameters. */
    private static final byte[] RSA_ALGORITHM = der(0x30, concat(hex("06092a864886f70d010101"), hex("0500")));
    /** OID of id-ecPublicKey (1.2.840.10045.2.1). */
    private static final byte[] EC_PUBLIC_KEY_OID = hex("06072a8648ce3d0201");

    private PemFiles() {}

    /** The certificates in {@code file} (at least one). */
    static X509Certificate[] certificates(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            Collection<? extends Certificate> certs =
                    CertificateFactory.getInstance("X.509").generateCertificates(in);
            if (certs.isEmpty()) {
                throw new IllegalArgumentException(file + ": no PEM certificate in it");
            }
            return certs.toArray(new X509Certificate[0]);
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read: " + e.getMessage(), e);
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException(file + ": not a PEM certificate: " + e.getMessage(), e);
        }
    }

    /** The private key in {@code file}: the first key block (other blocks, e.g. EC PARAMETERS, are skipped). */
    static PrivateKey privateKey(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read: " + e.getMessage(), e);
        }
        Matcher m = BLOCK.matcher(text);
        while (m.find()) {
            String type = m.group(1);
            if (!type.endsWith("PRIVATE KEY")) {
                continue;
            }
            byte[] der;
            try {
                der = Base64.getMimeDecoder().decode(m.group(2));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(file + ": the " + type + " block is not base64", e);
            }
            try {
                return switch (type) {
                    case "PRIVATE KEY" -> pkcs8(der, "RSA", "EC", "Ed25519", "Ed448");
                    case "RSA PRIVATE KEY" -> pkcs8(wrap(RSA_ALGORITHM, der), "RSA");
                    case "EC PRIVATE KEY" ->
                        pkcs8(wrap(der(0x30, concat(EC_PUBLIC_KEY_OID, sec1Curve(der))), der), "EC");
                    case "ENCRYPTED PRIVATE KEY" ->
                        throw new IllegalArgumentException(
                                "the key is encrypted; give an unencrypted key (openssl pkey -in KEY -out PLAIN)");
                    default -> throw new IllegalArgumentException("unsupported key type \"" + type + "\"");
                };
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
            }
        }
        throw new IllegalArgumentException(file + ": no PEM private key in it");
    }

    private static PrivateKey pkcs8(byte[] der, String... algorithms) {
        for (String alg : algorithms) {
            try {
                return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException e) {
                // try the next algorithm: PKCS#8 names its algorithm inside, KeyFactory needs it up front
            }
        }
        throw new IllegalArgumentException("not a valid " + String.join("/", algorithms) + " private key");
    }

    /** PrivateKeyInfo ::= SEQUENCE { version 0, AlgorithmIdentifier, privateKey OCTET STRING }. */
    private static byte[] wrap(byte[] algorithm, byte[] key) {
        return der(0x30, concat(hex("020100"), algorithm, der(0x04, key)));
    }

    /**
     * The named curve of a SEC1 key, as a complete DER OID: ECPrivateKey ::= SEQUENCE { version,
     * privateKey OCTET STRING, [0] parameters OPTIONAL, [1] publicKey OPTIONAL }.
     */
    private static byte[] sec1Curve(byte[] der) {
        Der seq = new Der(der, 0, der.length).next(0x30).contents();
        seq.next(0x02); // version
        seq.next(0x04); // private key
        while (seq.hasMore()) {
            Der field = seq.next(-1);
            if (field.tag == 0xA0) {
                Der oid = field.contents().next(0x06);
                return Arrays.copyOfRange(der, oid.start, oid.end);
            }
        }
        throw new IllegalArgumentException("the EC key does not name its curve");
    }

    /** A cursor over DER elements: {@link #next} reads one element; {@link #contents} enters it. */
    private static final class Der {
        final byte[] buf;
        int pos;
        final int limit;
        int tag;
        int start;
        int end;
        int contentStart;

        Der(byte[] buf, int pos, int limit) {
            this.buf = buf;
            this.pos = pos;
            this.limit = limit;
        }

        boolean hasMore() {
            return pos < limit;
        }

        /** Reads the next element, which must have {@code expectedTag} unless it is -1; returns it. */
        Der next(int expectedTag) {
            if (pos + 2 > limit) {
                throw new IllegalArgumentException("the key's DER is truncated");
            }
            Der e = new Der(buf, pos, limit);
            e.start = pos;
            e.tag = buf[pos++] & 0xFF;
            if (expectedTag >= 0 && e.tag != expectedTag) {
                throw new IllegalArgumentException(
                        "the key's DER is malformed (tag " + e.tag + ", expected " + expectedTag + ")");
            }
            int len = buf[pos++] & 0xFF;
            if (len >= 0x80) {
                int n = len & 0x7F;
                if (n == 0 || n > 3 || pos + n > limit) {
                    throw new IllegalArgumentException("the key's DER has a bad length");
                }
                len = 0;
                for (int i = 0; i < n; i++) {
                    len = (len << 8) | (buf[pos++] & 0xFF);
                }
            }
            if (pos + len > limit) {
                throw new IllegalArgumentException("the key's DER is truncated");
            }
            e.contentStart = pos;
            e.end = pos + len;
            pos = e.end;
            return e;
        }

        Der contents() {
            return new Der(buf, contentStart, end);
        }
    }

    private static byte[] der(int tag, byte[] contents) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(contents.length + 6);
        out.write(tag);
        int len = contents.length;
        if (len < 0x80) {
            out.write(len);
        } else if (len < 0x100) {
            out.write(0x81);
            out.write(len);
        } else if (len < 0x10000) {
            out.write(0x82);
            out.write(len >> 8);
            out.write(len);
        } else {
            out.write(0x83);
            out.write(len >> 16);
            out.write(len >> 8);
            out.write(len);
        }
        out.writeBytes(contents);
        return out.toByteArray();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    private static byte[] hex(String s) {
        return java.util.HexFormat.of().parseHex(s);
    }
}
