// Drives the desk's eviction-case screens in headless Chromium (Debian's,
// never a downloaded one). Called by crates/ozvi-desk/tests/browser.rs
// (eviction_cases_in_the_browser), which runs the relay and the desk,
// registers an overdue case from a colleague's desk beforehand, and logs a
// letter on it from her desk when this script prints READY_FOR_LIVE.
//
//   node cases.mjs URL
//   env: OZVI_PASSPHRASE, OZVI_OVERDUE_ID (the overdue case)
//
// Prints one line per step; exits non-zero on the first failure.

import { readFileSync } from 'node:fs';
import { accessible, env, launch, step } from './desk-common.mjs';

const [url] = process.argv.slice(2);
const browser = await launch();
let failed = false;

// A time as a datetime-local field takes it, in this machine's zone.
const pad = (n) => String(n).padStart(2, '0');
const local = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
const hoursAgo = (h) => local(new Date(Date.now() - h * 3600 * 1000));

try {
  const page = await browser.newPage();
  const external = [];
  page.on('request', (r) => { if (!r.url().startsWith(new URL(url).origin)) external.push(r.url()); });
  await page.goto(url);
  await page.locator('#locked').waitFor({ state: 'visible' });
  await page.fill('#passphrase', env('OZVI_PASSPHRASE'));
  await page.press('#passphrase', 'Enter');
  await page.locator('#inbox-view').waitFor({ state: 'visible' });
  await page.locator('#cases-count', { hasText: '1 po lhůtě' }).waitFor({ timeout: 10000 });
  step('the inbox says one eviction case is overdue');

  // By keyboard: the button takes the focus and Enter opens the list.
  await page.focus('#cases-btn');
  await page.keyboard.press('Enter');
  await page.locator('#cases-view').waitFor({ state: 'visible' });
  const first = page.locator('#cases tbody tr').first();
  await first.waitFor();
  if (await first.getAttribute('data-id') !== env('OZVI_OVERDUE_ID')) throw new Error('the overdue case is not first');
  if (!(await first.getAttribute('class')).includes('overdue')) throw new Error('the overdue case is not marked');
  const deadlineText = await first.locator('td.deadline').textContent();
  if (!deadlineText.includes('PO LHŮTĚ')) throw new Error(`overdue row: ${deadlineText}`);
  const colour = await first.locator('td.deadline').evaluate((td) => getComputedStyle(td).color);
  if (colour !== 'rgb(170, 0, 0)') throw new Error(`the overdue deadline is not red: ${colour}`);
  step('the overdue case is first, red and says so');
  await accessible(page, 'the cases list', page.locator('#cases tbody tr td.deadline', { hasText: 'PO LHŮTĚ' }));
  step('axe-core finds nothing on the cases list (cs, en)');

  // A new record, typed in and submitted with Enter.
  await page.fill('#case-entered', hoursAgo(3));
  await page.fill('#case-received', hoursAgo(1));
  await page.fill('#case-unit', 'OOP Zlín');
  await page.fill('#case-name', 'NOVÁ-3390');
  await page.fill('#case-phone', '777 000 111');
  await page.press('#case-phone', 'Enter');
  await page.locator('#case-view').waitFor({ state: 'visible' });
  await page.locator('#case-deadline', { hasText: 'Kontaktovat do' }).waitFor();
  await page.locator('#case-court', { hasText: 'předběžné opatření' }).waitFor();
  step('a record registered: contact due and the court reminder shown');
  await accessible(page, 'a case', page.locator('#case-deadline', { hasText: 'Kontaktovat do' }));
  step('axe-core finds nothing on a case (cs, en)');

  await page.fill('#attempt-at', hoursAgo(0));
  await page.selectOption('#attempt-channel', 'phone');
  await page.selectOption('#attempt-outcome', 'reached');
  await page.click('#attempt-form button');
  await page.locator('#case-deadline', { hasText: 'Kontaktováno včas' }).waitFor();
  await page.locator('#case-log li', { hasText: 'zastižena' }).waitFor();
  step('an attempt that reached her stops the clock');

  await page.fill('#case-safe-times', 'jen dopoledne');
  await page.fill('#case-safe-code', 'Lípa');
  await page.click('#case-safe-form button');
  await page.locator('#case-safe', { hasText: 'BEZPEČNÝ KONTAKT: jen dopoledne' }).waitFor();
  step('safe contact shown prominently');

  await page.selectOption('#link-to', { index: 1 });
  await page.click('#link-form button');
  await page.locator('#case-record dt', { hasText: 'Propojená konverzace' }).waitFor();
  step('a conversation linked');

  // Her colleague works on the overdue case while Jana has it open.
  await page.click('#case-back');
  await page.locator(`#cases tbody tr[data-id="${env('OZVI_OVERDUE_ID')}"]`).click();
  await page.locator('#case-deadline', { hasText: 'PO LHŮTĚ' }).waitFor();
  console.log('READY_FOR_LIVE');
  await page.locator('#case-log li', { hasText: 'ŽIVĚ-DOPIS-77' }).waitFor({ timeout: 15000 });
  await page.locator('#case-deadline', { hasText: 'Kontaktováno po lhůtě' }).waitFor();
  step("a colleague's letter appears live; the case is no longer overdue");

  await page.click('#case-back');
  await page.locator('#cases tbody tr', { hasText: 'NOVÁ-3390' }).waitFor();
  // The list is drawn at once from what the desk last loaded, then again
  // when the fresh list arrives: the overdue row goes then.
  await page.waitForFunction(() => document.querySelectorAll('#cases tbody tr.overdue').length === 0,
    null, { timeout: 5000 }).catch(() => { throw new Error('still overdue'); });
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    (async () => {
      const today = hoursAgo(0).slice(0, 10);
      await page.fill('#stats-from', `${today.slice(0, 4)}-01-01`);
      await page.fill('#stats-to', today);
      await page.click('#stats-form button');
    })(),
  ]);
  const csv = readFileSync(await download.path(), 'utf8');
  for (const row of ['records_received,2,', 'contacted_within_48h,1,', 'conversations_opened,1,']) {
    if (!csv.includes(`\n${row}`)) throw new Error(`statistics: ${csv}`);
  }
  step('the statistics CSV downloads with the figures');

  await page.click('#lock');
  await page.locator('#locked').waitFor({ state: 'visible' });
  const html = await page.content();
  for (const text of ['OHROŽENÁ-5521', 'NOVÁ-3390', 'jen dopoledne', 'ŽIVĚ-DOPIS-77', '777 000 111']) {
    if (html.includes(text)) throw new Error(`still in the page after locking: ${text}`);
  }
  for (const field of ['#case-name', '#case-phone', '#case-safe-times']) {
    if (await page.inputValue(field) !== '') throw new Error(`${field} kept after locking`);
  }
  if (external.length) throw new Error(`requests to other origins: ${external}`);
  step('locking clears every case from the page');
} catch (e) {
  failed = true;
  console.error(`FAILED: ${e.stack || e}`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
