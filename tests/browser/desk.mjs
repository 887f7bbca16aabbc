// Drives the desk's local UI in headless Chromium (Debian's, never a
// downloaded one). Called by crates/ozvi-desk/tests/browser.rs, which runs
// the relay and the desk and checks the effects afterwards.
//
//   node desk.mjs URL
//   env: OZVI_PASSPHRASE, OZVI_CANARY (the person's first message),
//        OZVI_THREAD_ID (her thread), OZVI_LONG_ID (a thread whose first
//        message is 60,000 characters without a break),
//        OZVI_REPLY (text to send), OZVI_LIVE (text the test will post
//        after this script prints READY_FOR_LIVE)
//
// Prints one line per step; exits non-zero on the first failure.

import { accessible, env, launch, step } from './desk-common.mjs';

const [url] = process.argv.slice(2);
const browser = await launch();
let failed = false;
try {
  const page = await browser.newPage();
  page.on('dialog', (dialog) => dialog.accept());
  const external = [];
  page.on('request', (r) => { if (!r.url().startsWith(new URL(url).origin)) external.push(r.url()); });

  await page.goto(url);
  await page.locator('#locked').waitFor({ state: 'visible' });
  if (page.url().includes('#k=')) throw new Error('the secret stays in the address bar');
  const stored = await page.evaluate(() => sessionStorage.length + localStorage.length);
  if (stored !== 0) throw new Error('a secret was stored in the profile');
  step('lock screen shown, secret removed from the address bar, nothing stored');

  // The original URL, from the history or a restored session, opens
  // nothing: the secret in it is spent.
  const again = await browser.newPage();
  await again.goto(url);
  await again.locator('#notice', { hasText: /already used|už byla použita/ }).waitFor();
  if (await again.locator('#locked').isVisible() || await again.locator('#inbox-view').isVisible()) {
    throw new Error('the spent URL opened the desk');
  }
  await again.reload();
  await again.locator('#notice').waitFor();
  if (await again.locator('#locked').isVisible()) throw new Error('a reload opened the desk');
  await again.close();
  step('reopening or reloading the original URL opens nothing');

  await accessible(page, 'the lock screen');
  await page.fill('#passphrase', 'not the passphrase');
  await page.click('#unlock-btn');
  // In the page's language, not the desk's English.
  await page.locator('#unlock-error', { hasText: 'Nesprávné heslo.' }).waitFor();
  step('a wrong passphrase is refused, in Czech');

  await page.fill('#passphrase', env('OZVI_PASSPHRASE'));
  await page.press('#passphrase', 'Enter'); // the keyboard unlocks
  const row = page.locator(`#inbox tbody tr[data-id="${env('OZVI_THREAD_ID')}"]`);
  await row.waitFor();
  const cells = await row.locator('td').allTextContents();
  if (cells[1] !== 'ohrožená osoba · cs') throw new Error(`who writes: ${cells}`);
  if (cells[2] !== env('OZVI_CANARY')) throw new Error(`latest line: ${cells}`);
  if (cells[4] !== '1') throw new Error(`unread count: ${cells}`);
  if (cells[6] !== 'nový') throw new Error(`status: ${cells}`);
  step(`inbox shows the thread: ${cells.join(' | ')}`);

  // Triage: in danger and unanswered comes first, flagged, whatever the order.
  for (const order of ['activity', 'waiting']) {
    await page.selectOption('#sort', order);
    const first = page.locator('#inbox tbody tr').first();
    if (await first.getAttribute('data-id') !== env('OZVI_DANGER_ID')) throw new Error(`${order}: the endangered person is not first`);
    const who = await first.locator('td').nth(1).textContent();
    if (!who.includes('V OHROŽENÍ') || !who.includes('uk')) throw new Error(`danger row: ${who}`);
  }
  await page.selectOption('#sort', 'activity');
  await page.fill('#search', 'OLENA-3307');
  if (await page.locator('#inbox tbody tr').count() !== 1) throw new Error('search within the decrypted text');
  await page.fill('#search', '');
  await page.selectOption('#filter-status', 'closed');
  if (await page.locator('#inbox tbody tr').count() !== 0) throw new Error('status filter');
  await page.selectOption('#filter-status', '');
  step('danger first and flagged; who writes, language, latest line; search and filters');
  await accessible(page, 'the inbox');
  step('axe-core finds nothing on the inbox (cs, en)');

  if (await page.title() !== '(3) Ozvi — pracoviště') throw new Error(`tab title: ${await page.title()}`);
  step('the tab title counts the conversations with unread messages');

  // By keyboard alone: the row takes the focus and Enter opens it.
  // The inbox redraws when a live update arrives; a redraw between the
  // focus and the key drops the focus with the old row. So the key is
  // pressed again on the row as it is now — never a click — until the
  // conversation opens.
  const opened = page.locator('.message.person', { hasText: env('OZVI_CANARY') });
  for (let attempt = 1; ; attempt++) {
    await row.focus();
    await page.keyboard.press('Enter');
    try {
      await opened.waitFor({ timeout: 10000 });
      break;
    } catch (e) {
      if (attempt === 3) throw e;
      step(`the conversation did not open on attempt ${attempt}: the row is focused again`);
    }
  }
  await accessible(page, 'a conversation');
  step('a conversation opened with the keyboard; axe-core finds nothing on it');
  if (await page.locator('#transfer-to').inputValue() !== '') throw new Error('the transfer menu starts on a centre');
  // The language switch of the axe check re-renders the conversation
  // after a refresh: wait for the Czech fields rather than read at once.
  await page.locator('#intake', { hasText: 'fyzické' }).waitFor({ timeout: 10000 }).catch(() => {});
  const intake = await page.locator('#intake').textContent();
  if (!intake.includes('CZ-72') || !intake.includes('fyzické')) throw new Error(`intake: ${intake}`);
  step('thread decrypted; form answers shown as fields');

  // A template puts its text in the field; saving stores the field's text
  // as that template for the whole centre.
  await page.locator('#template option[value="first-cs"]').waitFor({ state: 'attached' });
  await page.selectOption('#template', 'first-cs');
  if (!(await page.inputValue('#reply-text')).startsWith('Dobrý den, děkujeme')) throw new Error('the template did not fill the reply');
  await page.fill('#reply-text', 'Dobrý den, tady IC Zlín. ŠABLONA-8841');
  await page.click('#template-save');
  await page.locator('#notice', { hasText: 'Šablona uložena' }).waitFor();
  step('a template fills the reply; its text saved for the centre');
  await page.fill('#reply-text', env('OZVI_REPLY'));
  await page.click('#reply-send');
  await page.locator('.message.staff', { hasText: env('OZVI_REPLY') }).waitFor();
  step('reply sent and shown');

  await page.selectOption('#status', 'in_progress');
  await page.locator('#notice', { hasText: 'Uloženo' }).waitFor();
  await page.locator('#notice').waitFor({ state: 'hidden', timeout: 8000 });
  await page.fill('#note-text', 'Interní: volat po 17.');
  await page.click('#note-form button');
  await page.locator('#notes li', { hasText: 'Interní: volat po 17.' }).waitFor();
  step('status and internal note saved');

  console.log('READY_FOR_LIVE');
  await page.locator('.message.person', { hasText: env('OZVI_LIVE') }).waitFor({ timeout: 10000 });
  step('a new message appeared without reloading');

  await page.click('#back');
  // The inbox is reloaded on the way back; wait for the new status to show.
  await page.locator('#inbox tbody tr td:nth-child(7)', { hasText: 'řeší se' }).waitFor();

  // 60,000 characters without a break: the case panel stays on screen.
  await page.locator(`#inbox tbody tr[data-id="${env('OZVI_LONG_ID')}"]`).click();
  await page.locator('.message.person', { hasText: 'DLOUHÁ-' }).waitFor();
  const layout = await page.evaluate(() => {
    const aside = document.querySelector('#thread-view aside').getBoundingClientRect();
    const text = document.querySelector('.message.person .text').getBoundingClientRect();
    return {
      left: aside.left, right: aside.right, width: aside.width, viewport: window.innerWidth,
      scroll: document.documentElement.scrollWidth, textRight: text.right,
    };
  });
  if (layout.left < 0 || layout.right > layout.viewport || layout.width < 150
      || layout.scroll > layout.viewport + 1 || layout.textRight > layout.viewport) {
    throw new Error(`the case panel is pushed off-screen: ${JSON.stringify(layout)}`);
  }
  if (!await page.locator('#export-btn').isVisible()) throw new Error('export button hidden');
  step(`a 60,000-character word wraps; the panel stays on screen ${JSON.stringify(layout)}`);
  await page.click('#back');
  await page.locator('#inbox tbody tr').first().waitFor();
  await page.selectOption('#lang', 'en');
  await page.locator('th', { hasText: 'Latest activity' }).waitFor();
  step('inbox shows the status; English works');

  await page.click('#lock');
  await page.locator('#locked').waitFor({ state: 'visible' });
  const html = await page.content();
  for (const text of [env('OZVI_CANARY'), env('OZVI_REPLY'), env('OZVI_LIVE'), 'Interní: volat', 'DLOUHÁ-']) {
    if (html.includes(text)) throw new Error(`still in the page after locking: ${text}`);
  }
  if (await page.locator('#inbox tbody tr').count() !== 0) throw new Error('inbox rows kept after locking');
  const noSecret = await page.evaluate(async () => (await fetch('/api/state')).status);
  if (noSecret !== 401) throw new Error(`API without the secret: ${noSecret}`);
  step('locking clears the page; the API needs the secret');

  const storage = await page.evaluate(() => ({ cookies: document.cookie, local: localStorage.length, session: sessionStorage.length }));
  if (storage.cookies !== '' || storage.local !== 0 || storage.session !== 0) throw new Error(`stored: ${JSON.stringify(storage)}`);
  if (external.length) throw new Error(`requests to other origins: ${external}`);
  step('no cookies, no localStorage, no other origin');
} catch (e) {
  failed = true;
  console.error(`FAILED: ${e.stack || e}`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
