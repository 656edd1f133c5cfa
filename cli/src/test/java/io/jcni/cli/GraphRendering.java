package io.jcni.cli;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.testkit.Commands;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Assumptions;

/**
 * Renders an SVG in headless Chromium and checks the picture is there: the screenshot has the
 * SVG's size and is not blank. Chromium refuses to run as root with its sandbox, so it runs with
 * {@code --no-sandbox} (the page is the test's own file). Without Chromium installed (.ci/run
 * installs it) the rendering is skipped, saying so.
 */
final class GraphRendering {
    private GraphRendering() {}

    static String chromium() {
        for (String c : List.of("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")) {
            if (Files.isExecutable(Path.of(c))) {
                return c;
            }
        }
        return null;
    }

    static void screenshot(Path svg, Path png) throws Exception {
        String chromium = chromium();
        Assumptions.assumeTrue(chromium != null, "no Chromium to render the SVG with (apt-get install chromium)");
        String text = Files.readString(svg);
        Matcher m =
                Pattern.compile("<svg [^>]*width=\"(\\d+)\" height=\"(\\d+)\"").matcher(text);
        assertTrue(m.find(), "the SVG states its size");
        int w = Integer.parseInt(m.group(1)), h = Integer.parseInt(m.group(2));
        Files.deleteIfExists(png);
        Path profile = Files.createTempDirectory("jin-chromium");
        Commands.Result r;
        try {
            r = Commands.of(
                            chromium,
                            "--headless",
                            "--no-sandbox",
                            "--disable-gpu",
                            "--hide-scrollbars",
                            "--user-data-dir=" + profile,
                            "--window-size=" + w + "," + h,
                            "--screenshot=" + png.toAbsolutePath(),
                            svg.toAbsolutePath().toUri().toString())
                    .timeout(Duration.ofSeconds(180))
                    .result();
        } finally {
            try (var s = Files.walk(profile)) {
                s.sorted(java.util.Comparator.reverseOrder())
                        .forEach(f -> f.toFile().delete());
            }
        }
        Files.writeString(png.resolveSibling(png.getFileName() + ".log"), r.out());
        assertNotEquals(Commands.TIMED_OUT, r.code(), "chromium finished");
        assertEquals(0, r.code(), r.out());
        BufferedImage img = ImageIO.read(png.toFile());
        assertNotNull(img, "a PNG");
        assertEquals(w, img.getWidth());
        assertEquals(h, img.getHeight());
        long ink = 0;
        for (int y = 0; y < h; y += 2) {
            for (int x = 0; x < w; x += 2) {
                if ((img.getRGB(x, y) & 0xffffff) != 0xffffff) {
                    ink++;
                }
            }
        }
        assertTrue(ink > (long) w * h / 4 / 50, "more than 2% of the picture is drawn: " + ink);
    }
}
