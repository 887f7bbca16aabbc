// Drives the person's page (web-client/) in headless Chromium (Debian's,
// never a downloaded one) against a real relay. Called by
// crates/ozvi-desk/tests/person_page.rs, which runs the relay and plays the
// centre's side with the desk.
//
//   node person.mjs BASE_URL
//   env: OZVI_CANARY (her first message), OZVI_REPLY (the reply the test
//        sends), OZVI_MORE (her second message)
//
// Talks to the test over stdio: prints `CREATED` when her thread exists and
// waits for `REPLIED`; prints `STOP_RELAY` and waits for `STOPPED`. Every
// other line is `step: …`, `timing: …` or an error. Exits non-zero on the
// first failure.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const [base] = process.argv.slice(2);
const origin = new URL(base).origin;
const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const NEUTRAL = 'https://www.seznam.cz/';

const input = createInterface({ input: process.stdin });
const lines = input[Symbol.asyncIterator]();
async function ask(command, answer) {
  console.log(command);
  const { value, done } = await lines.next();
  if (done || value.trim() !== answer) throw new Error(`expected ${answer} from the test, got ${value}`);
}

const step = (text) => console.log(`step: ${text}`);
const check = (ok, what) => { if (!ok) throw new Error(what); };

const browser = await chromium.launch({
  executablePath: process.env.OZVI_CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});

/** Runs axe-core (WCAG 2.1 A and AA) on what is on screen, in every language. */
async function accessible(page, screen) {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
  const before = await page.locator('#lang').inputValue();
  for (const lang of ['cs', 'en', 'uk']) {
    await page.selectOption('#lang', lang);
    const violations = await page.evaluate(async () => {
      const result = await window.axe.run(document, {
        runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
      });
      return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
    });
    check(violations.length === 0, `axe on ${screen} (${lang}): ${violations.join('; ')}`);
  }
  await page.selectOption('#lang', before);
}

/** Nothing is wider than a 320 px screen. */
async function fitsNarrowScreen(page, screen) {
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  check(width <= 320, `${screen} is ${width} px wide at a 320 px viewport`);
}

const visible = (page, id) => page.locator(`#${id}`).waitFor({ state: 'visible', timeout: 20000 });

async function traces(context, page) {
  const cookies = await context.cookies();
  const stored = await page.evaluate(async () => ({
    local: localStorage.length,
    session: sessionStorage.length,
    indexedDB: (await indexedDB.databases()).length,
    workers: (await navigator.serviceWorker.getRegistrations()).length,
    caches: (await caches.keys()).length,
  }));
  return { cookies: cookies.length, ...stored };
}

let failed = false;
try {
  const context = await browser.newContext({ viewport: { width: 320, height: 700 } });
  const page = await context.newPage();
  const external = [];
  page.on('request', (r) => { if (new URL(r.url()).origin !== origin) external.push(r.url()); });
  const consoleErrors = [];
  page.on('console', (m) => {
    // The relay's 404 for a deleted conversation is the expected answer.
    const expected = m.text().includes('status of 404') && m.location().url.includes('/api/v1/mailbox');
    if (m.type() === 'error' && !expected) consoleErrors.push(`${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));

  // --- First contact ---
  await page.goto(base);
  await visible(page, 'screen-home');
  const history0 = await page.evaluate(() => history.length);
  check(await page.title() === 'Formulář', `title: ${await page.title()}`);
  check(await page.locator('#quick-exit').isVisible(), 'quick exit visible');
  await accessible(page, 'home');
  await fitsNarrowScreen(page, 'home');
  step('start screen: neutral title, quick exit, safety notice; axe clean in cs/en/uk; fits 320 px');

  // Keyboard only: Tab to "write for the first time", Enter.
  let guard = 0;
  while (await page.evaluate(() => document.activeElement?.id) !== 'start-new') {
    await page.keyboard.press('Tab');
    check((guard += 1) < 20, 'Tab never reaches "write for the first time"');
  }
  await page.keyboard.press('Enter');
  await visible(page, 'screen-form');
  check(await page.evaluate(() => document.activeElement?.id) === 'form-title', 'focus moves to the new screen');
  await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  const exitBox = await page.locator('#quick-exit').boundingBox();
  check(exitBox && exitBox.y >= 0 && exitBox.y + exitBox.height <= 700, `quick exit off screen when scrolled: ${JSON.stringify(exitBox)}`);
  step('keyboard only: Tab and Enter open the form, focus follows; the quick exit stays on screen when scrolled');
  await page.check('input[name=danger][value=yes]');
  await visible(page, 'danger-alert');
  const alert = await page.locator('#danger-alert').textContent();
  check(alert.includes('158') && alert.includes('112'), `danger alert: ${alert}`);
  step('in danger now: 158 and 112 shown first');

  await page.click('#send');
  await visible(page, 'message-error');
  step('an empty message is refused with a clear error');

  await page.selectOption('#region', 'CZ-72');
  await page.check('input[name=violence][value=physical]');
  await page.check('input[name=violence][value=psychological]');
  await page.fill('#contact', 'jen sem, po 17. hodině');
  await page.fill('#message', env('OZVI_CANARY'));
  await accessible(page, 'form');
  await fitsNarrowScreen(page, 'form');
  await page.click('#send');
  await visible(page, 'screen-code');
  const code = (await page.locator('#code').textContent()).trim();
  check(/^[0-9A-Z]{3}(-[0-9A-Z]{3}){5}$/.test(code), `code shape: ${code}`);
  check(!page.url().includes(code.replaceAll('-', '')) && !page.url().includes(code), 'code not in the URL');
  const timings = await page.evaluate(() => Object.fromEntries(
    performance.getEntriesByType('measure').filter((m) => m.name.startsWith('ozvi:'))
      .map((m) => [m.name.slice(5), Math.round(m.duration)])));
  console.log(`timing: ${JSON.stringify(timings)}`);
  check(await page.locator('#code-continue').isDisabled(), 'she must confirm she noted the code');
  await accessible(page, 'code');
  await fitsNarrowScreen(page, 'code');
  step(`code shown (${code.length} characters, grouped); continuing needs her confirmation`);

  await page.check('#code-noted');
  await page.click('#code-continue');
  await visible(page, 'screen-thread');
  await page.locator('.message.person', { hasText: env('OZVI_CANARY') }).waitFor();
  step('the conversation shows her first message, decrypted in the page');

  // --- The centre replies (the test uses the desk); it arrives live ---
  await ask('CREATED', 'REPLIED');
  const reply = page.locator('.message.staff', { hasText: env('OZVI_REPLY') });
  await reply.waitFor({ timeout: 10000 });
  check((await reply.locator('.verified').count()) === 1, 'the reply is marked verified');
  await accessible(page, 'thread');
  await fitsNarrowScreen(page, 'thread');
  step('the reply arrived without reloading, marked as verified from the centre');

  // --- Returning with the code ---
  await page.click('#leave');
  await visible(page, 'screen-home');
  check(await page.locator('#messages li').count() === 0, 'leaving clears the conversation');
  await page.click('#start-return');
  await visible(page, 'screen-return');
  const chars = code.replaceAll('-', '').split('');
  const typo = [...chars];
  typo[4] = typo[4] === '7' ? '8' : '7';
  await page.fill('#code-input', typo.join(''));
  await page.click('#open-btn');
  await page.locator('#return-error', { hasText: 'překlep' }).waitFor();
  await page.fill('#code-input', chars.slice(0, 17).join(''));
  await page.click('#open-btn');
  await page.locator('#return-error', { hasText: '18 znaků' }).waitFor();
  await accessible(page, 'return with an error');
  step('a mistyped code and a short one get their own messages');

  // Lower case, spaces instead of dashes: still her code.
  await page.fill('#code-input', code.toLowerCase().replaceAll('-', ' '));
  await page.click('#open-btn');
  await visible(page, 'screen-thread');
  await page.locator('.message.person', { hasText: env('OZVI_CANARY') }).waitFor();
  await page.locator('.message.staff .verified').waitFor();
  check(await page.locator('#code-input').inputValue() === '', 'the typed code is cleared');
  step('the code (typed in lower case with spaces) opens the whole conversation');

  await page.fill('#write-text', env('OZVI_MORE'));
  await page.click('#write-send');
  await page.locator('.message.person', { hasText: env('OZVI_MORE') }).waitFor();
  step('she writes again');

  await page.click('#delete-btn');
  await visible(page, 'delete-confirm');
  await page.click('#delete-yes');
  await visible(page, 'screen-deleted');
  await accessible(page, 'deleted');
  await page.click('#screen-deleted button.home');
  await page.click('#start-return');
  await page.fill('#code-input', code);
  await page.click('#open-btn');
  await page.locator('#return-error', { hasText: 'neotevřel' }).waitFor();
  step('deleted: the code no longer opens anything');

  await page.click('#show-a11y');
  await visible(page, 'screen-a11y');
  await accessible(page, 'accessibility statement');
  step('the accessibility statement is there');

  // --- No traces ---
  const left = await traces(context, page);
  check(Object.values(left).every((n) => n === 0), `traces left: ${JSON.stringify(left)}`);
  const history1 = await page.evaluate(() => history.length);
  check(history1 === history0, `history grew from ${history0} to ${history1}`);
  check(external.length === 0, `requests to other origins: ${external.join(', ')}`);
  check(consoleErrors.length === 0, `console errors: ${consoleErrors.join('; ')}`);
  step(`no cookie, storage, database, worker or cache; history stayed at ${history0}; no other origin`);

  // --- Quick exit: button, Esc, Shift three times ---
  await context.route(`${NEUTRAL}**`, (route) => route.fulfill({
    contentType: 'text/html', body: '<title>Seznam</title><p>neutral</p>',
  }));
  for (const [how, act] of [
    ['button', (p) => p.click('#quick-exit')],
    ['Esc', (p) => p.keyboard.press('Escape')],
    ['Shift three times', async (p) => {
      for (let i = 0; i < 3; i += 1) await p.keyboard.press('Shift');
    }],
  ]) {
    const p = await context.newPage();
    await p.goto('about:blank');
    await p.goto(base);
    await visible(p, 'screen-home');
    await p.click('#start-new');
    await p.fill('#message', 'nikdo to nesmí vidět');
    await act(p);
    await p.waitForURL(NEUTRAL, { timeout: 5000 });
    await p.goBack().catch(() => null);
    check(!p.url().startsWith(origin), `Back after the quick exit (${how}) returned to ${p.url()}`);
    await p.close();
    step(`quick exit by ${how}: neutral site, Back does not return`);
  }

  // --- The relay goes down while she writes ---
  await page.click('#screen-a11y button.home');
  await page.click('#start-new');
  await page.fill('#message', 'zkouška');
  await ask('STOP_RELAY', 'STOPPED');
  await page.click('#send');
  await page.locator('#form-error', { hasText: 'neodpovídá' }).waitFor({ timeout: 20000 });
  check(await page.locator('#message').inputValue() === 'zkouška', 'her text is kept');
  step('relay down: a plain message, and her text is still there');
} catch (error) {
  failed = true;
  console.error(error?.stack ?? String(error));
} finally {
  await browser.close();
  input.close();
}
process.exit(failed ? 1 : 0);
