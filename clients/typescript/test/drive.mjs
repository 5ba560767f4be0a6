// Drive headless Chromium through a list of pages for the Python end-to-end tests and the
// browser benchmark: `node test/drive.mjs URL...`; each page sets `window.__done` (JSON) when it
// has finished; one JSON line per page is printed, and the next page starts when a line comes
// on stdin (so the caller can read its byte counters in between). One browser (one profile) for
// all pages, so a dictionary cached by an earlier page is in the Cache API for the next.
// AURA_PROFILE_DIR=DIR: a CPU profile of each page (DevTools .cpuprofile) is written there.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { launch } from "./chromium.mjs";

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

const urls = process.argv.slice(2);
const browser = await launch();
try {
  const context = await browser.newContext();
  let pageNo = 0;
  for (const url of urls) {
    pageNo++;
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
    const profileDir = process.env.AURA_PROFILE_DIR;
    const cdp = profileDir ? await context.newCDPSession(page) : null;
    if (cdp !== null) {
      await cdp.send("Profiler.enable");
      await cdp.send("Profiler.setSamplingInterval", { interval: 100 });
      await cdp.send("Profiler.start");
    }
    await page.goto(url);
    await page.waitForFunction(() => window.__done !== undefined, null, { timeout: 240000, polling: 50 });
    if (cdp !== null) {
      const { profile } = await cdp.send("Profiler.stop");
      writeFileSync(join(profileDir, `page-${pageNo}-${new URL(url).searchParams.get("mode")}.cpuprofile`), JSON.stringify(profile));
    }
    const result = await page.evaluate(() => window.__done);
    result.pageErrors = errors;
    await page.close();
    process.stdout.write(JSON.stringify(result) + "\n");
    await lines.next();
  }
} finally {
  await browser.close();
}
process.exit(0);
