// Attached files in the desk's local UI, in headless Chromium (Debian's).
// Called by crates/ozvi-desk/tests/browser.rs, which runs the relay and the
// desk and checks the effects afterwards.
//
//   node desk-files.mjs URL
//   env: OZVI_PASSPHRASE, OZVI_THREAD_ID (her thread: a PNG, a PDF and an
//        invalid reference), OZVI_ATTACH (a file to attach to a reply),
//        OZVI_REPLY (the reply's text)
//
// Prints one line per step, and `SAVED <path>` for the file it saved;
// exits non-zero on the first failure.

import { accessible, env, launch, step } from './desk-common.mjs';

const [url] = process.argv.slice(2);
const browser = await launch();
let failed = false;
try {
  const page = await browser.newPage();
  const external = [];
  const blocked = [];
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(new URL(url).origin) && !u.startsWith('blob:')) external.push(u);
  });
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) blocked.push(m.text()); });

  await page.goto(url);
  await page.locator('#locked').waitFor({ state: 'visible' });
  await page.fill('#passphrase', env('OZVI_PASSPHRASE'));
  await page.press('#passphrase', 'Enter');
  const row = page.locator(`#inbox tbody tr[data-id="${env('OZVI_THREAD_ID')}"]`);
  await row.waitFor();
  await row.click();

  // The photo: decrypted by the desk, shown from a blob: URL the CSP
  // allows, and actually decoded (its pixel size is the PNG's).
  const img = page.locator('.message .files img');
  await img.waitFor({ timeout: 15000 });
  await page.waitForFunction(() => {
    const i = document.querySelector('.message .files img');
    return i && i.complete && i.naturalWidth > 0;
  }, null, { timeout: 10000 }).catch(() => {});
  const shown = await img.evaluate((i) => ({ src: i.src, w: i.naturalWidth, h: i.naturalHeight, alt: i.alt }));
  if (!shown.src.startsWith('blob:')) throw new Error(`image source: ${shown.src}`);
  if (shown.w !== 1 || shown.h !== 1) throw new Error(`the image did not decode: ${JSON.stringify(shown)} ${blocked.join(' ')}`);
  if (!shown.alt.includes('Příloha 1')) throw new Error(`alt: ${shown.alt}`);
  step('the photo is shown inline from a blob: URL and decodes');

  const files = await page.locator('.message .files li').allTextContents();
  if (!files[0].includes('Příloha 1: obrázek PNG') || !files[0].includes('1×1 px')) throw new Error(`files: ${files}`);
  if (!files[1].includes('Příloha 2: dokument PDF') || !files[1].includes('PDF se nezobrazuje')) throw new Error(`files: ${files}`);
  if (!files[2].includes('Příloha 3: příloha, kterou nelze otevřít')) throw new Error(`files: ${files}`);
  if (await page.locator('.message .files img').count() !== 1) throw new Error('a PDF was rendered');
  step('kind, size and pixels listed; the PDF only offered for saving; the invalid reference said');
  await accessible(page, 'a conversation with attachments', page.locator('.message .files img'));
  step('axe-core finds nothing on a conversation with attachments');

  await page.locator('.message .files li').nth(1).locator('button.save-file').click();
  const notice = page.locator('#notice', { hasText: 'Uloženo do' });
  await notice.waitFor();
  const text = await notice.textContent();
  const path = text.replace(/^Uloženo do /, '').replace(/ \(čitelné jen pro vás\)\.$/, '');
  console.log(`SAVED ${path}`);
  step('Uložit writes the PDF and says where');

  await page.fill('#reply-text', env('OZVI_REPLY'));
  await page.setInputFiles('#reply-files', env('OZVI_ATTACH'));
  await page.click('#reply-send');
  await page.locator('.message.staff', { hasText: env('OZVI_REPLY') }).waitFor({ timeout: 15000 });
  await page.locator('.message.staff .files li', { hasText: 'dokument PDF' }).waitFor();
  step('a reply with an attached file sent and listed');

  if (external.length) throw new Error(`requests to other origins: ${external.join(', ')}`);
  if (blocked.length) throw new Error(`blocked by the CSP: ${blocked.join(' ')}`);
} catch (e) {
  console.error(e);
  failed = true;
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
