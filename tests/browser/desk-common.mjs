// What the desk's browser scripts share (desk.mjs, desk-lock.mjs,
// cases.mjs): Debian's headless Chromium (never a downloaded one), the
// environment the Rust test passes, step lines, and the axe-core check.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** A variable the Rust test set; fails without it. */
export const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

/** One line per step, which the Rust test reads. */
export const step = (text) => console.log(`step: ${text}`);

/** Debian's Chromium, headless, with nothing that calls home. */
export function launch() {
  return chromium.launch({
    executablePath: process.env.OZVI_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/**
 * axe-core (WCAG 2.1 A and AA) on what is on screen, in Czech and English;
 * then back to Czech. `ready`, if given, is a locator to wait for after the
 * switch back (the page re-renders after a refresh).
 */
export async function accessible(page, screen, ready) {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
  for (const lang of ['cs', 'en']) {
    await page.selectOption('#lang', lang);
    const violations = await page.evaluate(async () => {
      const result = await window.axe.run(document, {
        runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
      });
      return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
    });
    if (violations.length) throw new Error(`axe on ${screen} (${lang}): ${violations.join('; ')}`);
  }
  await page.selectOption('#lang', 'cs');
  if (ready) await ready.waitFor({ timeout: 10000 });
}
