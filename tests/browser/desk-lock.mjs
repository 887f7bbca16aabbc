// An unattended desk while the person keeps writing: called by
// crates/ozvi-desk/tests/browser.rs with a desk that locks after a few
// seconds of inactivity.
//
//   node desk-lock.mjs URL
//   env: OZVI_PASSPHRASE, OZVI_CANARY (her first message), OZVI_THREAD_ID,
//        OZVI_LIVE (what each of her later messages begins with)
//
// The staff member unlocks, opens the thread herself, then touches nothing.
// The script prints READY_FOR_MESSAGES; the test then posts a message every
// two seconds. They appear in the page, but the desk still locks, and then
// nothing decrypted is left in the page. Prints LOCKED when done.

import { env, launch, step } from './desk-common.mjs';

const [url] = process.argv.slice(2);
const browser = await launch();
let failed = false;
try {
  const page = await browser.newPage();
  await page.goto(url);
  await page.locator('#locked').waitFor({ state: 'visible' });
  await page.fill('#passphrase', env('OZVI_PASSPHRASE'));
  await page.click('#unlock-btn');
  const row = page.locator(`#inbox tbody tr[data-id="${env('OZVI_THREAD_ID')}"]`);
  await row.click();
  await page.locator('.message.person', { hasText: env('OZVI_CANARY') }).waitFor();
  const focus = await page.evaluate(() => ({ visible: document.visibilityState, focus: document.hasFocus() }));
  step(`she opened the thread herself ${JSON.stringify(focus)}; now nobody touches the desk`);
  const opened = Date.now();
  console.log('READY_FOR_MESSAGES');

  await page.locator('.message.person', { hasText: env('OZVI_LIVE') }).first().waitFor({ timeout: 15000 });
  step('her new messages appear live');

  await page.locator('#locked').waitFor({ state: 'visible', timeout: 45000 });
  step(`locked ${((Date.now() - opened) / 1000).toFixed(1)} s after her last input, while messages kept coming`);

  // Give the live updates time to try to bring anything back.
  await page.waitForTimeout(3000);
  const html = await page.content();
  const text = await page.evaluate(() => document.body.innerText);
  for (const secret of [env('OZVI_CANARY'), env('OZVI_LIVE'), 'CZ-72', 'po 17. hodině']) {
    if (html.includes(secret) || text.includes(secret)) throw new Error(`still in the page after locking: ${secret}`);
  }
  const left = await page.evaluate(() => ({
    messages: document.querySelectorAll('#messages li').length,
    rows: document.querySelectorAll('#inbox tbody tr').length,
    intake: document.querySelector('#intake').children.length,
  }));
  if (left.messages || left.rows || left.intake) throw new Error(`left in the DOM: ${JSON.stringify(left)}`);
  step('nothing decrypted is left in the page');

  // Her messages keep coming: the locked page says so, with a count only.
  await page.locator('#locked-news', { hasText: 'Od zamčení' }).waitFor({ timeout: 15000 });
  const title = await page.title();
  if (!/^\(\d+\) Ozvi/.test(title)) throw new Error(`title while locked: ${title}`);
  step(`locked, the page still counts what arrived: "${await page.locator('#locked-news').textContent()}", title "${title}"`);
  console.log('LOCKED');
} catch (e) {
  failed = true;
  console.error(`FAILED: ${e.stack || e}`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
