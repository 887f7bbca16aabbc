// Her photos through the person's page (web-client/) in headless Chromium
// (Debian's) against a real relay. Called by tests/tests/person_page.rs
// (`her_photos_are_stripped_sealed_uploaded_and_shown_again`).
//
//   node photos.mjs BASE_URL WORK_DIR
//
// She attaches a JPEG carrying GPS, EXIF, XMP, an IPTC byline and a
// comment, and a PNG with tEXt chunks (photo-fixtures.mjs, written by
// exiftool); both thumbnails show with the "location removed" line; a PDF
// and a file that is not a picture are refused with the sentence. The first
// upload is cut off once and goes again under the same id with the proof of
// work; the second goes without. She sends, checks her code and sees her
// pictures; after a reload she returns with the code and they are
// downloaded, opened and shown. From the test's side the thread is opened
// with the page's own modules and every file is checked with exiftool: no
// metadata, no canary, the expected pixel size. Then: the quick exit during
// an upload leaves no picture, no object URL and no worker.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

import {
  check, leftovers, makeJpeg, makePng, makeWebp, metadata, openThreadFiles,
} from './photo-fixtures.mjs';

const [base, work] = process.argv.slice(2);
const origin = new URL(base).origin;
const NEUTRAL = 'https://www.seznam.cz/';
const CANARY = 'FOTO-8841';
const REFUSED = 'Tento soubor neumíme poslat. Pošlete prosím snímek obrazovky, nebo to popište slovy.';
const STRIPPED = 'Poloha a údaje o fotoaparátu byly odstraněny.';
/** Blob lengths (PROTOCOL.md §12.1). */
const BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256].map((n) => 20 + n * 65552);

const step = (text) => console.log(`step: ${text}`);
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
/** Prints `command` for the test and waits for `answer`. */
async function ask(command, answer) {
  console.log(command);
  const { value, done } = await lines.next();
  if (done || value.trim() !== answer) throw new Error(`expected ${answer} from the test, got ${value}`);
}
const visible = (page, id) => page.locator(`#${id}`).waitFor({ state: 'visible', timeout: 30000 });

/** Canvases in `selector` that have pixels, once there are `count`. */
async function pictures(page, selector, count) {
  await page.waitForFunction(({ selector, count }) => [...document.querySelectorAll(`${selector} canvas`)]
    .filter((c) => c.width > 0 && c.height > 0).length === count, { selector, count }, { timeout: 60000 });
  return page.evaluate((s) => [...document.querySelectorAll(`${s} canvas`)].map((c) => [c.width, c.height]), selector);
}

const browser = await chromium.launch({
  executablePath: process.env.OZVI_CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});

let failed = false;
try {
  mkdirSync(work, { recursive: true });
  const context = await browser.newContext({ viewport: { width: 390, height: 800 }, locale: 'cs-CZ' });
  const page = await context.newPage();
  const external = [];
  page.on('request', (r) => { if (new URL(r.url()).origin !== origin) external.push(r.url()); });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));

  // --- Fixtures, and that they do carry what must go ---
  await page.goto(base);
  const jpeg = await makeJpeg(page, work, CANARY);
  const png = await makePng(page, work, CANARY);
  const webp = await makeWebp(page, work);
  const before = [...leftovers(jpeg, CANARY), ...leftovers(png, CANARY)].join(' ');
  for (const needed of ['GPS:GPSLatitude', 'IFD0:Make', 'ExifIFD', 'XMP', 'IPTC:By-line', 'File:Comment', 'PNG:Comment', 'PNG:Author']) {
    check(before.includes(needed), `the fixtures lack ${needed}: ${before}`);
  }
  const pdf = join(work, 'zprava.pdf');
  writeFileSync(pdf, '%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n');
  const fake = join(work, 'not-a-picture.jpg');
  writeFileSync(fake, 'this is text pretending to be a JPEG');
  step(`fixtures: a 4000×3000 JPEG (orientation 6) with GPS, EXIF, XMP, IPTC and a comment; a 1080×1920 PNG with tEXt (${Math.round(readFileSync(jpeg).length / 1024)} KiB, ${Math.round(readFileSync(png).length / 1024)} KiB)`);

  // --- The uploads, as the relay receives them ---
  const uploads = [];
  let cutFirst = true;
  await page.route('**/api/v1/mailbox/file', async (route) => {
    const request = route.request();
    if (request.method() !== 'PUT') return route.continue();
    const headers = await request.allHeaders();
    const body = request.postDataBuffer() ?? Buffer.alloc(0);
    uploads.push({ id: headers['ozvi-file'], pow: Boolean(headers['ozvi-pow']), length: body.length, first: body[0] });
    if (cutFirst) {
      // The connection breaks during her first upload.
      cutFirst = false;
      return route.abort('connectionreset');
    }
    return route.continue();
  });

  // --- First contact with two pictures ---
  await visible(page, 'screen-home');
  const firstVisit = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name));
  check(!firstVisit.some((u) => /photos\.js|reencode\.js|ozvi_web_files/.test(u)), `the photo code loaded on the first visit: ${firstVisit}`);
  await page.click('#start-new');
  await visible(page, 'screen-form');
  await page.selectOption('#region', 'CZ-72');
  await page.fill('#message', `Posílám fotky. ${CANARY}`);
  await page.setInputFiles('#form-photo-input', [jpeg, png]);
  const thumbs = await pictures(page, '#form-photo-list', 2);
  check(thumbs.every(([w, h]) => Math.max(w, h) <= 160), `thumbnails: ${JSON.stringify(thumbs)}`);
  // Orientation applied: the 4000×3000 landscape was shot turned, so it shows upright (portrait).
  check(thumbs[0][0] < thumbs[0][1], `the photo's orientation is applied: ${thumbs[0]}`);
  check((await page.locator('#form-photo-note').textContent()).startsWith(STRIPPED)
    && await page.locator('#form-photo-note').isVisible(), 'the line says location and camera data are gone');
  step(`thumbnails of what will be sent: ${JSON.stringify(thumbs)}; "${STRIPPED}"`);

  for (const refused of [pdf, fake]) {
    await page.setInputFiles('#form-photo-input', refused);
    await page.locator('#form-photo-error', { hasText: REFUSED }).waitFor({ timeout: 20000 });
    check(await page.locator('#form-photo-list canvas').count() === 2, 'a refused file is not added');
  }
  step('a PDF and a file that is not a picture are refused with one kind sentence');

  // A third picture (WebP, accepted), then removed.
  await page.setInputFiles('#form-photo-input', webp);
  await pictures(page, '#form-photo-list', 3);
  await page.locator('#form-photo-list .photo-remove').nth(2).click();
  check(await page.locator('#form-photo-list canvas').count() === 2, 'remove takes one off');
  step('a WebP picture added and removed before sending');

  await page.click('#send');
  await visible(page, 'screen-code');
  const code = (await page.locator('#code').textContent()).trim();
  check(/^[0-9A-Z]{3}(-[0-9A-Z]{3}){5}$/.test(code), `code: ${code}`);
  const ids = [...new Set(uploads.map((u) => u.id))];
  check(uploads.length === 3 && ids.length === 2, `uploads: ${JSON.stringify(uploads)}`);
  check(uploads[0].id === uploads[1].id && uploads[0].pow && uploads[1].pow && !uploads[2].pow,
    `the cut upload goes again under its id, with the proof of work; the next without: ${JSON.stringify(uploads)}`);
  check(uploads.every((u) => BUCKETS.includes(u.length) && u.first === 1), `blobs on buckets: ${JSON.stringify(uploads)}`);
  step(`uploaded: the first cut off and sent again under the same id (${uploads.map((u) => u.length).join(', ')} bytes, buckets), proof of work on the first only`);

  await page.fill('#code-check', code.replaceAll('-', '').slice(-3));
  await page.locator('#code-continue:not([disabled])').waitFor();
  await page.click('#code-continue');
  await visible(page, 'screen-thread');
  const mine = await pictures(page, '#messages', 2);
  step(`her conversation shows her two pictures (from memory): ${JSON.stringify(mine)}`);

  // --- What arrived: opened from the thread with the page's modules, checked by exiftool ---
  const files = (await openThreadFiles(base, code)).filter((f) => f.from === 'person');
  check(files.length === 2, `two files in her thread: ${files.length}`);
  const expected = [['image/jpeg', 2250, 3000, 'jpg'], ['image/png', 1080, 1920, 'png']];
  for (const [n, file] of files.entries()) {
    const [type, width, height, ext] = expected[n];
    const path = join(work, `received-${n}.${ext}`);
    writeFileSync(path, file.bytes);
    const seen = metadata(path);
    check(file.reference.type === type && file.reference.width === width && file.reference.height === height,
      `reference ${n}: ${JSON.stringify({ ...file.reference, key: undefined })}`);
    check(seen.width === width && seen.height === height, `file ${n} decodes as ${seen.width}×${seen.height}, not ${width}×${height}`);
    check(seen.tags['File:MIMEType'] === type, `file ${n} is ${seen.tags['File:MIMEType']}`);
    const left = leftovers(path, CANARY);
    check(left.length === 0, `exiftool finds in file ${n}: ${left.join(', ')}`);
    step(`file ${n}: ${type} ${width}×${height}, ${file.bytes.length} bytes; exiftool finds no GPS, EXIF, XMP, IPTC, comment or text chunk (${Object.keys(seen.tags).filter((k) => !/^(System|ExifTool|SourceFile)/.test(k)).join(' ')})`);
  }

  // --- Staff answer with a picture and a PDF (the desk, played by the test) ---
  await ask('CREATED', 'REPLIED');
  const staffPicture = await pictures(page, '#messages .staff', 1);
  const link = page.locator('#messages .staff a[download]');
  await link.waitFor({ timeout: 30000 });
  check(await link.getAttribute('download') === 'zprava.pdf', `the PDF's name: ${await link.getAttribute('download')}`);
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  const saved = join(work, 'saved.pdf');
  await download.saveAs(saved);
  check(readFileSync(saved).equals(readFileSync(pdf)), 'the PDF she saves is the one staff attached');
  step(`staff's picture shown inline ${JSON.stringify(staffPicture)} and their PDF saved from a link as ${await link.getAttribute('download')}`);

  // --- Back with the code after a reload: downloaded, opened, shown ---
  await page.reload();
  await visible(page, 'screen-home');
  await page.click('#start-return');
  await page.fill('#code-input', code);
  await page.click('#open-btn');
  await visible(page, 'screen-thread');
  const again = (await pictures(page, '#messages', 3)).slice(0, 2);
  await page.locator('#messages .staff a[download]').waitFor();
  check(JSON.stringify(again) === JSON.stringify(mine), `the same pictures after a reload: ${JSON.stringify(again)} vs ${JSON.stringify(mine)}`);
  step(`returning with the code, her pictures are downloaded, opened in the worker and shown: ${JSON.stringify(again)}`);

  // --- Later messages take photos too, with mailbox auth ---
  uploads.length = 0;
  await page.fill('#write-text', 'Ještě jedna.');
  await page.setInputFiles('#write-photo-input', png);
  await pictures(page, '#write-photo-list', 1);
  await page.click('#write-send');
  await pictures(page, '#messages', 4);
  check(uploads.length === 1 && !uploads[0].pow, `her next photo uploads with her mailbox's auth: ${JSON.stringify(uploads)}`);
  step('her next message carries a picture too');

  const untranslated = await page.evaluate(async () => (await import('/photos.js')).missingTexts());
  check(untranslated.length === 0, `photo texts missing in a language: ${untranslated}`);
  const stored = await page.evaluate(async () => ({
    local: localStorage.length, session: sessionStorage.length,
    indexedDB: (await indexedDB.databases()).length, caches: (await caches.keys()).length,
  }));
  check(Object.values(stored).every((n) => n === 0), `traces: ${JSON.stringify(stored)}`);
  check(external.length === 0, `requests to other origins: ${external}`);
  check(errors.length === 0, `page errors: ${errors}`);
  step('nothing stored, no other origin, no page error');
  await context.close();

  // --- The quick exit during an upload ---
  const exitContext = await browser.newContext({ viewport: { width: 390, height: 800 }, locale: 'cs-CZ' });
  await exitContext.route(`${NEUTRAL}**`, (route) => route.fulfill({
    contentType: 'text/html', body: '<title>Seznam</title><p>neutral</p>',
  }));
  // What the exit left, seen in the same event, after the page's own
  // handler (a listener of the bubbling phase runs after the exit's
  // capturing one, before the neutral site replaces the page).
  await exitContext.addInitScript(() => {
    const made = [];
    const create = URL.createObjectURL.bind(URL);
    URL.createObjectURL = (object) => { const url = create(object); made.push(url); return url; };
    // Uploads the page itself aborts (not the navigation's cancelling).
    let aborts = 0;
    const abort = XMLHttpRequest.prototype.abort;
    XMLHttpRequest.prototype.abort = function counted() { aborts += 1; return abort.call(this); };
    window.addEventListener('keydown', (event) => {
      if (event.key !== 'Escape') return;
      const reachable = made.filter((url) => {
        try {
          const xhr = new XMLHttpRequest();
          xhr.open('GET', url, false);
          xhr.send();
          return true;
        } catch { return false; }
      });
      console.log(`AFTER-EXIT ${JSON.stringify({
        exiting: document.documentElement.classList.contains('exiting'),
        canvases: document.querySelectorAll('canvas').length,
        images: document.querySelectorAll('img').length,
        body: document.body?.childElementCount ?? 0,
        made: made.length,
        reachable: reachable.length,
        aborts,
      })}`);
    });
  });
  const p = await exitContext.newPage();
  let after = null;
  p.on('console', (m) => { if (m.text().startsWith('AFTER-EXIT ')) after = JSON.parse(m.text().slice(11)); });
  const workers = [];
  p.on('worker', (w) => { const entry = { closed: false }; workers.push(entry); w.on('close', () => { entry.closed = true; }); });
  let uploading;
  const started = new Promise((resolve) => { uploading = resolve; });
  await p.route('**/api/v1/mailbox/file', (route) => {
    // The upload hangs: she leaves in the middle of it.
    if (route.request().method() === 'PUT') uploading();
    else route.continue();
  });
  await p.goto(base);
  await visible(p, 'screen-home');
  await p.click('#start-new');
  await p.selectOption('#region', 'CZ-72');
  await p.fill('#message', 'Odejdu uprostřed.');
  await p.setInputFiles('#form-photo-input', [jpeg]);
  await pictures(p, '#form-photo-list', 1);
  await p.click('#send');
  await started;
  check(workers.length === 1 && !workers[0].closed, `one worker before the exit: ${JSON.stringify(workers)}`);
  await p.keyboard.press('Escape');
  await p.waitForURL(NEUTRAL, { timeout: 10000 });
  await p.waitForTimeout(300);
  check(after && after.exiting, `the exit ran: ${JSON.stringify(after)}`);
  check(after.canvases === 0 && after.images === 0 && after.body === 0, `left after the exit: ${JSON.stringify(after)}`);
  check(after.reachable === 0, `object URLs still reachable: ${JSON.stringify(after)}`);
  check(workers.every((w) => w.closed), 'the worker is gone');
  check(after.aborts === 1, `the page aborted its upload: ${JSON.stringify(after)}`);
  step(`quick exit during an upload: the upload aborted by the page, no picture, no object URL, no worker (${JSON.stringify(after)})`);
  await exitContext.close();
} catch (error) {
  failed = true;
  console.error(error?.stack ?? String(error));
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
