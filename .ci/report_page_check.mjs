// The evaluation report (`tagger eval --report DIR`) opened in headless chromium from disk: it loads without a
// script or resource error, shows its summary table, every chart (inlined SVG with drawn content) and its tables.
//
//     node report_page_check.mjs DIR/index.html CHARTS
import { chromium } from "playwright-core";

const [file, charts] = process.argv.slice(2);
const fail = (msg) => { console.error(`report page check: ${msg}`); process.exit(1); };
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1340, height: 1000 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("requestfailed", (r) => errors.push(`request failed: ${r.url()}`));
  const resp = await page.goto("file://" + file);
  if (!resp || !resp.ok()) fail(`cannot open ${file}`);
  const svgs = await page.$$eval("figure svg", (ss) => ss.map((s) => ({
    w: s.getBoundingClientRect().width, h: s.getBoundingClientRect().height, shapes: s.querySelectorAll("polyline, circle, path, line").length,
  })));
  if (svgs.length !== Number(charts)) fail(`${svgs.length} charts shown, expected ${charts}`);
  for (const s of svgs) if (s.w < 200 || s.h < 100 || s.shapes < 5) fail(`a chart is empty or not laid out: ${JSON.stringify(s)}`);
  const headings = await page.$$eval("h2", (hs) => hs.map((h) => h.textContent));
  for (const h of ["Worst labels", "Most confused pairs", "Reliability bins"]) if (!headings.includes(h)) fail(`no ${h} table`);
  const micro = await page.$$eval(".summary tr", (rs) => rs.map((r) => r.textContent).find((t) => t.startsWith("micro")));
  if (!micro) fail("no micro figures in the summary");
  if (errors.length) fail(errors.join("; "));
  console.log(`report page: ${svgs.length} charts, ${headings.length} tables; ${micro}`);
} finally {
  await browser.close();
}
