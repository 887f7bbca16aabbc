// Drives the person's page (web-client/) in headless Chromium (Debian's,
// never a downloaded one) against a real relay. Called by
// crates/ozvi-desk/tests/person_page.rs, which runs the relay and plays the
// centre's side with the desk.
//
//   node person.mjs BASE_URL
//   env: OZVI_CANARY (her first message), OZVI_REPLY (the reply the test
//        sends), OZVI_MORE (her second message), OZVI_REASON (why the
//        centre transfers her conversation)
//
// Talks to the test over stdio: prints `CREATED` when her thread exists and
// waits for `REPLIED`; prints `TRANSFER` and waits for `TRANSFERRED`; prints
// `STOP_RELAY` and waits for `STOPPED`. Every other line is `step: …`,
// `timing: …` or an error. Exits non-zero on the first failure.

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
    // English and Ukrainian arrive on demand (i18n.js): wait for the switch.
    await page.locator(`html[lang=${lang}]`).waitFor({ state: 'attached' });
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

/** Chrome DevTools' "Slow 4G" and a 4× slower CPU: a cheap phone. */
async function cheapPhone(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false, latency: 562.5, downloadThroughput: 180000, uploadThroughput: 84375,
  });
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
}

/** Cyrillic letters drawn like the code's Latin ones (a Ukrainian keyboard). */
const CYRILLIC = { A: 'А', B: 'В', C: 'С', E: 'Е', H: 'Н', K: 'К', M: 'М', P: 'Р', T: 'Т', X: 'Х', 3: 'З' };

let failed = false;
try {
  // --- A cheap phone: the first text and the form before the cryptography ---
  {
    const context = await browser.newContext({ viewport: { width: 360, height: 740 }, locale: 'cs-CZ' });
    const page = await context.newPage();
    await cheapPhone(page);
    await page.goto(base, { waitUntil: 'commit' });
    await page.locator('#home-title').waitFor({ state: 'visible', timeout: 30000 });
    await page.waitForFunction(() => performance.getEntriesByName('ozvi:interactive').length > 0, null, { timeout: 30000 });
    await page.click('#start-new');
    await page.fill('#message', 'funguje to');
    const usableAt = await page.evaluate(() => performance.now());
    const times = await page.evaluate(() => ({
      firstText: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1,
      interactive: performance.getEntriesByName('ozvi:interactive')[0].startTime,
    }));
    const ready = await page.waitForFunction(() => performance.getEntriesByName('ozvi:crypto-ready').length > 0, null, { timeout: 60000 })
      .then(() => page.evaluate(() => performance.getEntriesByName('ozvi:crypto-ready')[0].startTime));
    console.log(`timing: cheap phone (4× CPU, Slow 4G): first text ${Math.round(times.firstText)} ms, form usable ${Math.round(times.interactive)} ms (typed in by ${Math.round(usableAt)} ms), cryptography ready ${Math.round(ready)} ms`);
    check(times.firstText > 0, 'a first contentful paint');
    await context.close();
    step('cheap phone: the start screen paints from the HTML, the form works before the WebAssembly is ready');
  }

  // --- Before any script: the start screen and the helplines are in the HTML ---
  {
    const context = await browser.newContext({ javaScriptEnabled: false, locale: 'cs-CZ' });
    const page = await context.newPage();
    await page.goto(base);
    check(await page.locator('#home-title').isVisible(), 'the start screen shows without JavaScript');
    for (const number of ['158', '112', '116006', '116016', '116111']) {
      check(await page.locator(`#helplines a[href="tel:${number}"]`).isVisible(), `tel:${number} without JavaScript`);
    }
    check((await page.locator('#helplines').textContent()).includes('anglicky'), '112 speaks English');
    await context.close();
    step('without JavaScript: the start screen, 158, 112 (in English too), 116 006, 116 016, 116 111 as tel: links');
  }

  // --- A Ukrainian phone opens in Ukrainian ---
  {
    const context = await browser.newContext({ viewport: { width: 320, height: 700 }, locale: 'uk-UA' });
    const page = await context.newPage();
    await page.goto(base);
    await page.locator('html[lang=uk]').waitFor({ state: 'attached' });
    check(await page.title() === 'Форма', `title: ${await page.title()}`);
    check((await page.locator('#home-title').textContent()).includes('Напишіть'), 'the heading is Ukrainian');
    check(await page.locator('#lang').inputValue() === 'uk', 'the language choice says Ukrainian');
    await page.click('#show-about');
    await visible(page, 'screen-about');
    check((await page.locator('#screen-about').textContent()).includes('безкоштовна'), 'what an IC is, in Ukrainian');
    await accessible(page, 'what an intervention centre is');
    await fitsNarrowScreen(page, 'about');
    await page.click('#screen-about button.home');
    await page.click('#show-witness');
    await visible(page, 'screen-witness');
    await accessible(page, 'witness guidance');
    await fitsNarrowScreen(page, 'witness');
    const stored = await traces(context, page);
    check(Object.values(stored).every((n) => n === 0), `a Ukrainian visit left ${JSON.stringify(stored)}`);
    await context.close();
    step('a Ukrainian browser opens the page in Ukrainian; "what is an IC" and the witness guidance, axe clean in cs/en/uk');
  }

  const context = await browser.newContext({ viewport: { width: 320, height: 700 }, locale: 'cs-CZ' });
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
  const dialogs = [];
  page.on('dialog', (d) => { dialogs.push(d.type()); d.dismiss().catch(() => {}); });

  // --- First contact ---
  await page.goto(base);
  await visible(page, 'screen-home');
  const history0 = await page.evaluate(() => history.length);
  check(await page.title() === 'Formulář', `title: ${await page.title()}`);
  check(await page.locator('#quick-exit').isVisible(), 'quick exit visible');
  check((await page.locator('#screen-home').textContent()).includes('Nemusíte uvádět jméno'), 'no name needed');
  const untranslated = await page.evaluate(async () => (await import('/i18n.js')).missingKeys());
  check(untranslated.length === 0, `texts missing in a language: ${untranslated.join(', ')}`);
  await accessible(page, 'home');
  await fitsNarrowScreen(page, 'home');
  step('start screen: neutral title, quick exit, safety notice, helplines; axe clean in cs/en/uk; fits 320 px');

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

  await page.check('input[name=age][value=under_16]');
  await visible(page, 'child-help');
  check(await page.locator('#child-help a[href="tel:116111"]').isVisible(), 'under 16: Linka bezpečí 116 111');
  await accessible(page, 'form, under 16');
  await page.check('input[name=role][value=witness]');
  await visible(page, 'witness-hint');
  check(await page.locator('#child-help').isVisible(), 'a child witness sees 116 111 too');
  await page.check('input[name=age][value=adult]');
  await page.check('input[name=role][value=self]');
  check(await page.locator('#child-help').isHidden(), 'an adult does not see the children’s line');
  step('age band first: under 16 (and a child witness) is pointed to 116 111 and can still write');

  await page.check('input[name=danger][value=yes]');
  await visible(page, 'danger-alert');
  const alert = await page.locator('#danger-alert').textContent();
  check(alert.includes('158') && alert.includes('112'), `danger alert: ${alert}`);
  step('in danger now: 158 and 112 shown first');

  await page.click('#send');
  await visible(page, 'message-error');
  step('an empty message is refused with a clear error');

  await page.fill('#message', env('OZVI_CANARY'));
  await page.click('#send');
  await visible(page, 'region-error');
  check(await page.locator('#reader').textContent() === '', 'no centre is named before a region is chosen');
  step('no silent default: sending without a region asks for one');

  await page.fill('#place', 'vset');
  await page.locator('#place-list button', { hasText: 'Vsetín' }).first().click();
  check(await page.locator('#region').inputValue() === 'CZ-72', 'Vsetín is in the Zlín region');
  await page.locator('#reader', { hasText: 'Zlín' }).waitFor();
  step(`a town typed: Vsetín → Zlín region; before sending: "${await page.locator('#reader').textContent()}"`);
  await page.fill('#place', '76001');
  await page.locator('#place-list button', { hasText: 'Zlín' }).first().waitFor();
  await page.selectOption('#region', 'unknown');
  await page.locator('#reader', { hasText: 'Praha' }).waitFor();
  await page.selectOption('#region', 'CZ-72');
  await page.locator('#reader', { hasText: 'Zlín' }).waitFor();
  step('a postcode finds its town; "I don’t know" names the centre that will read it');

  await page.check('input[name=violence][value=physical]');
  await page.check('input[name=violence][value=psychological]');
  await page.fill('#safe-times', 'po 17. hodině');
  await page.check('input[name=channel][value=chat]');
  await page.check('input[name=voicemail][value=no]');
  const long = 'á'.repeat(15001);
  await page.fill('#message', long);
  await page.click('#send');
  await page.locator('#message-error', { hasText: '15000' }).waitFor();
  check((await page.locator('#message').inputValue()).length === long.length, 'a long text is never cut');
  const errorBox = await page.locator('#message-error').boundingBox();
  check(errorBox && errorBox.x >= 0 && errorBox.x + errorBox.width <= 320, `the error fits the screen: ${JSON.stringify(errorBox)}`);
  step('a text over the limit is refused with its length, never cut; the error stays on a narrow screen');

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
  check((await page.locator('#code-address').textContent()).startsWith(origin), 'the code screen says where to come back');
  check((await page.locator('#code-reader').textContent()).includes('Zlín'), 'and who reads her messages');
  check((await page.locator('#code-answer').textContent()).length > 10, 'and when the centre usually answers');
  check(await page.locator('#code-continue').isDisabled(), 'she must confirm she noted the code');
  await page.fill('#code-check', 'ZZZ'.slice(0, 3) === code.slice(-3) ? '000' : 'ZZZ');
  check(await page.locator('#code-continue').isDisabled(), 'wrong last characters do not let her go on');
  await accessible(page, 'code');
  await fitsNarrowScreen(page, 'code');
  // The accessibility statement from the code screen comes back to it.
  await page.click('#show-a11y');
  await visible(page, 'screen-a11y');
  await page.click('#a11y-back');
  await visible(page, 'screen-code');
  check((await page.locator('#code').textContent()).trim() === code, 'the code is still on screen');
  // Read as a typed code is: lower case and Cyrillic look-alikes are fine.
  const lastThree = [...code.slice(-3)].map((c) => CYRILLIC[c] ?? c).join('').toLowerCase();
  await page.fill('#code-check', lastThree);
  await page.locator('#code-continue:enabled').waitFor({ timeout: 5000 });
  step(`code shown (${code.length} characters, grouped) with where and when to come back; continuing needs its last three characters`);

  await page.click('#code-continue');
  await visible(page, 'screen-thread');
  await page.locator('.message.person', { hasText: env('OZVI_CANARY') }).waitFor();
  step('the conversation shows her first message, decrypted in the page');

  // --- The centre replies (the test uses the desk); it arrives live ---
  await ask('CREATED', 'REPLIED');
  const reply = page.locator('.message.staff', { hasText: env('OZVI_REPLY') });
  await reply.waitFor({ timeout: 10000 });
  check((await reply.locator('.verified').count()) === 1, 'the reply is marked verified');
  await page.locator('#read-marker', { hasText: 'přečetlo' }).waitFor({ timeout: 10000 });
  await page.locator('#thread-status', { hasText: 'řešíme' }).waitFor({ timeout: 10000 });
  await accessible(page, 'thread');
  await fitsNarrowScreen(page, 'thread');
  step('the reply arrived without reloading, marked as verified from the centre; she sees it read and in progress');

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

  // Lower case, spaces instead of dashes, Cyrillic look-alikes: still her code.
  const cyrillic = [...code.replaceAll('-', ' ')].map((c) => CYRILLIC[c] ?? c).join('');
  check(/[А-Я]/.test(cyrillic), `the code has a letter with a Cyrillic look-alike: ${code}`);
  await page.fill('#code-input', cyrillic.toLowerCase());
  await page.click('#open-btn');
  await visible(page, 'screen-thread');
  await page.locator('.message.person', { hasText: env('OZVI_CANARY') }).waitFor();
  await page.locator('.message.staff .verified').first().waitFor();
  check(await page.locator('#code-input').inputValue() === '', 'the typed code is cleared');
  step('the code (typed in lower case, with spaces and Cyrillic look-alike letters) opens the whole conversation');

  await page.fill('#write-text', env('OZVI_MORE'));
  await page.click('#write-send');
  await page.locator('.message.person', { hasText: env('OZVI_MORE') }).waitFor();
  step('she writes again');

  // --- The centre transfers her conversation: she is told, in a sealed message ---
  await ask('TRANSFER', 'TRANSFERRED');
  const notice = page.locator('.message.staff', { hasText: env('OZVI_REASON') });
  await notice.waitFor({ timeout: 15000 });
  check((await notice.textContent()).includes('Jihomoravského'), `the notice names the new centre: ${await notice.textContent()}`);
  check((await notice.locator('.verified').count()) === 1, 'the notice is verified');
  await page.locator('#thread-centre', { hasText: 'Jihomoravského' }).waitFor({ timeout: 10000 });
  await accessible(page, 'thread after a transfer');
  await page.selectOption('#lang', 'en');
  await page.locator('.message.person .who', { hasText: 'You' }).first().waitFor({ timeout: 5000 });
  check((await page.locator('#thread-status').textContent()).includes('in progress'), 'the state in English');
  check((await page.locator('.message.staff .verified').first().textContent()).includes('Verified'), 'the badge in English');
  check((await notice.textContent()).includes('is now read by'), 'the notice in English');
  await page.selectOption('#lang', 'cs');
  await page.locator('.message.person .who', { hasText: 'Vy' }).first().waitFor({ timeout: 5000 });
  step('transferred: a verified message says which centre reads it now and why');

  // Leaving with typed text asks first (the quick exit never does).
  await page.fill('#write-text', 'rozepsáno');
  await page.evaluate(() => window.location.assign('about:blank')).catch(() => null);
  await page.waitForTimeout(500);
  check(dialogs.includes('beforeunload'), `leaving with typed text asks first: ${dialogs}`);
  check(page.url().startsWith(origin), 'she stays when she says no');
  await page.fill('#write-text', '');
  step('leaving with typed text asks first');

  await page.click('#delete-btn');
  await visible(page, 'delete-confirm');
  await page.click('#delete-yes');
  await visible(page, 'screen-deleted');
  await accessible(page, 'deleted');
  await page.click('#screen-deleted button.home');
  await page.click('#start-return');
  await page.fill('#code-input', code);
  await page.click('#open-btn');
  await page.locator('#return-error', { hasText: 'nenašli' }).waitFor();
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
    const asked = [];
    p.on('dialog', (d) => { asked.push(d.type()); d.accept().catch(() => {}); });
    await p.goto('about:blank');
    await p.goto(base);
    await visible(p, 'screen-home');
    await p.click('#start-new');
    await p.fill('#message', 'nikdo to nesmí vidět');
    await act(p);
    await p.waitForURL(NEUTRAL, { timeout: 5000 });
    await p.goBack().catch(() => null);
    check(!p.url().startsWith(origin), `Back after the quick exit (${how}) returned to ${p.url()}`);
    check(asked.length === 0, `the quick exit (${how}) asked: ${asked}`);
    await p.close();
    step(`quick exit by ${how}: neutral site, Back does not return`);
  }

  // --- The relay goes down while she writes ---
  await page.click('#a11y-back');
  await visible(page, 'screen-return');
  await page.click('#screen-return button.back');
  await page.click('#start-new');
  await page.selectOption('#region', 'CZ-72');
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
