// A page as a PNG, taken in headless chromium (Debian's, driven by playwright-core): how docs/eval-report.png
// was made. Run from beside playwright-core's node_modules (.ci/readme_smoke.sh installs it into .ci/tools/web):
//
//     cp .ci/screenshot.mjs .ci/tools/web/ && node .ci/tools/web/screenshot.mjs URL OUT.png [WIDTH HEIGHT]
import { chromium } from "playwright-core";

const [url, out, width = "1340", height = "1300"] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: Number(width), height: Number(height) } });
  await page.goto(url);
  await page.screenshot({ path: out });
} finally {
  await browser.close();
}
