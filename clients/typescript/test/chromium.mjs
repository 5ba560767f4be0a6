// Headless Chromium for the tests: the system's Debian `chromium` (never a downloaded build),
// driven by playwright-core, with a fresh profile per launch.
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.AURA_CHROMIUM ?? "/usr/bin/chromium";

export const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-dev-shm-usage",
];

export function haveChromium() {
  return existsSync(CHROMIUM);
}

export async function launch() {
  // launch() gives every run a fresh temporary --user-data-dir
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
}
