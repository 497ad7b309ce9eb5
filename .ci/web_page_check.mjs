// The page at `/` in a real headless browser (Debian's chromium, driven by playwright-core from npm): it lists
// the models, a person pastes a text, picks a model and presses "Tag", and the tags appear with their evidence
// highlighted in the text; pointing at a tag highlights its own evidence. Any script error fails the check.
//
//     node web_page_check.mjs URL [SCREENSHOT.png]
import { chromium } from "playwright-core";

const [url, screenshot] = process.argv.slice(2);
const text = "Crude oil prices rose sharply after OPEC agreed to cut output, and oil traders said crude "
  + "supplies would tighten as the cartel's ministers meet again in Vienna next month.";
const fail = (msg) => { console.error(`web page check: ${msg}`); process.exit(1); };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  await page.goto(url);
  await page.waitForSelector("#model option", { state: "attached", timeout: 15000 });
  const models = await page.$$eval("#model option", (os) => os.map((o) => o.value));
  if (!models.includes("reuters")) fail(`models listed: ${models}`);

  // An empty submission is refused with a message, not sent.
  await page.click("#submit");
  if (!(await page.textContent("#status")).includes("Paste a text")) fail("empty text was not refused");

  await page.selectOption("#model", "reuters");
  await page.fill("#text", text);
  await page.click("#submit");
  await page.waitForSelector("#tags li.tag", { timeout: 15000 });
  const labels = await page.$$eval("#tags .label", (es) => es.map((e) => e.textContent));
  if (!labels.includes("CRUDE")) fail(`tags shown: ${labels}`);
  const marks = await page.$$eval("#text-view mark", (es) => es.map((e) => e.textContent));
  if (marks.length === 0) fail("no evidence highlighted");
  for (const m of marks) if (!text.includes(m)) fail(`highlight ${JSON.stringify(m)} is not in the text`);
  if ((await page.textContent("#text-view")) !== text) fail("the text view does not show the text as pasted");

  await page.hover("#tags li.tag >> nth=0");
  await page.waitForSelector("#text-view mark.strong", { timeout: 5000 });
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  if (errors.length) fail(`script errors: ${errors.join("; ")}`);
  console.log(`web page: ${models.length} models listed, tags ${labels.join(", ")}, ${marks.length} highlights`);
} finally {
  await browser.close();
}
