package io.jcni.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jcni.testkit.TestNames;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.security.spec.X509EncodedKeySpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link PemFiles} on keys and certificates made by openssl in each form etcd deployments use; a
 * key is read right when it signs what its public half (as openssl derives it) verifies.
 */
class PemFilesTest {
    private static Path dir;

    @BeforeAll
    static void dir() throws Exception {
        dir = Files.createTempDirectory("jst-" + TestNames.RUN + "-pem-");
    }

    @AfterAll
    static void clean() {
        if (dir != null) {
            TestEtcd.deleteTree(dir);
        }
    }

    private static void openssl(String... args) {
        List<String> cmd = new ArrayList<>(List.of("openssl"));
        cmd.addAll(List.of(args));
        TestEtcd.run(cmd, Duration.ofSeconds(30));
    }

    /** Reads {@code key} and checks it against the public key openssl derives from it. */
    private static void assertReadsRight(Path key, String header, String algorithm, String signature) throws Exception {
        assertTrue(Files.readString(key).contains("-----BEGIN " + header + "-----"), "openssl wrote a " + header);
        PrivateKey priv = PemFiles.privateKey(key);
        assertEquals(algorithm.startsWith("Ed") ? "EdDSA" : algorithm, priv.getAlgorithm());
        Path pub = dir.resolve(key.getFileName() + ".pub.der");
        openssl("pkey", "-in", key.toString(), "-pubout", "-outform", "DER", "-out", pub.toString());
        PublicKey pk =
                KeyFactory.getInstance(algorithm).generatePublic(new X509EncodedKeySpec(Files.readAllBytes(pub)));
        byte[] data = "jcni".getBytes(StandardCharsets.UTF_8);
        Signature s = Signature.getInstance(signature);
        s.initSign(priv);
        s.update(data);
        byte[] sig = s.sign();
        Signature v = Signature.getInstance(signature);
        v.initVerify(pk);
        v.update(data);
        assertTrue(v.verify(sig), key + " does not match its public key");
    }

    @Test
    void rsaKeysInPkcs1AndPkcs8() throws Exception {
        Path pkcs1 = dir.resolve("rsa1.pem");
        openssl("genrsa", "-traditional", "-out", pkcs1.toString(), "2048");
        assertReadsRight(pkcs1, "RSA PRIVATE KEY", "RSA", "SHA256withRSA");
        Path pkcs8 = dir.resolve("rsa8.pem");
        openssl("pkey", "-in", pkcs1.toString(), "-out", pkcs8.toString());
        assertReadsRight(pkcs8, "PRIVATE KEY", "RSA", "SHA256withRSA");
    }

    @Test
    void ecKeysInSec1WithParametersAndPkcs8() throws Exception {
        Path sec1 = dir.resolve("ec1.pem");
        openssl("ecparam", "-name", "prime256v1", "-genkey", "-out", sec1.toString()); // EC PARAMETERS block first
        assertReadsRight(sec1, "EC PRIVATE KEY", "EC", "SHA256withECDSA");
        Path p384 = dir.resolve("ec384.pem");
        openssl("ecparam", "-name", "secp384r1", "-genkey", "-noout", "-out", p384.toString());
        assertReadsRight(p384, "EC PRIVATE KEY", "EC", "SHA256withECDSA");
        Path pkcs8 = dir.resolve("ec8.pem");
        openssl("pkey", "-in", sec1.toString(), "-out", pkcs8.toString());
        assertReadsRight(pkcs8, "PRIVATE KEY", "EC", "SHA256withECDSA");
    }

    @Test
    void ed25519Key() throws Exception {
        Path key = dir.resolve("ed.pem");
        openssl("genpkey", "-algorithm", "ed25519", "-out", key.toString());
        assertReadsRight(key, "PRIVATE KEY", "Ed25519", "Ed25519");
    }

    @Test
    void errorsNameTheFile() throws Exception {
        Path encrypted = dir.resolve("enc.pem");
        openssl(
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-aes256",
                "-pass",
                "pass:jst",
                "-out",
                encrypted.toString());
        var e = assertThrows(IllegalArgumentException.class, () -> PemFiles.privateKey(encrypted));
        assertTrue(e.getMessage().startsWith(encrypted + ": the key is encrypted"), e.getMessage());

        Path empty = dir.resolve("empty.pem");
        Files.writeString(empty, "nothing here\n");
        e = assertThrows(IllegalArgumentException.class, () -> PemFiles.privateKey(empty));
        assertEquals(empty + ": no PEM private key in it", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> PemFiles.certificates(empty));
        assertTrue(e.getMessage().startsWith(empty.toString()), e.getMessage());

        Path broken = dir.resolve("broken.pem");
        Files.writeString(broken, "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n");
        e = assertThrows(IllegalArgumentException.class, () -> PemFiles.privateKey(broken));
        assertTrue(e.getMessage().startsWith(broken + ": "), e.getMessage());

        Path missing = dir.resolve("missing.pem");
        e = assertThrows(IllegalArgumentException.class, () -> PemFiles.certificates(missing));
        assertTrue(e.getMessage().startsWith(missing + ": cannot read"), e.getMessage());
    }

    @Test
    void certificateChain() throws Exception {
        Path key = dir.resolve("cert-key.pem");
        openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key.toString());
        Path a = dir.resolve("a.pem");
        Path b = dir.resolve("b.pem");
        openssl(
                "req",
                "-x509",
                "-new",
                "-key",
                key.toString(),
                "-subj",
                "/CN=jst-a",
                "-days",
                "1",
                "-out",
                a.toString());
        openssl(
                "req",
                "-x509",
                "-new",
                "-key",
                key.toString(),
                "-subj",
                "/CN=jst-b",
                "-days",
                "1",
                "-out",
                b.toString());
        Path chain = dir.resolve("chain.pem");
        Files.writeString(chain, Files.readString(a) + Files.readString(b));
        X509Certificate[] certs = PemFiles.certificates(chain);
        assertEquals(2, certs.length);
        assertEquals("CN=jst-a", certs[0].getSubjectX500Principal().getName());
        assertEquals("CN=jst-b", certs[1].getSubjectX500Principal().getName());
    }
}
