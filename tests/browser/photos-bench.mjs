// Figures of the person's photos (docs/PERFORMANCE.md, "Photos"), in one
// headless Chromium page (Debian's) against a running relay that serves the
// page and a directory. Run by hand:
//
//   cargo test -p ozvi-tests --test person_page photo_figures -- --ignored --nocapture
//   (or: node photos-bench.mjs BASE_URL [RUNS] against a relay you started)
//
// - sealing 10 MiB (the whole of PROTOCOL.md §12.1: 160 chunks, the
//   filler to the 16 MiB bucket, the blob's SHA-256 by WebCrypto, the
//   reference): in the page's worker (ozvi-web's files module, with the
//   hand-over to and from the worker), the same on the main thread, and
//   libsodium-wrappers' crypto_secretstream_xchacha20poly1305
//   over the same bytes in the same 64 KiB chunks (loaded from
//   tests/browser/node_modules as a same-origin file: nothing from another
//   origin);
// - a 12-megapixel JPEG (4000×3000, from photo-fixtures.mjs) from "choose"
//   to "sent": re-encoding to the thumbnail, then Send to her code on
//   screen (first contact: key derivation, sealing, upload with the proof
//   of work, the message), and the same for a later message.

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

import { makeJpeg } from './photo-fixtures.mjs';

const [base, runsArg] = process.argv.slice(2);
const RUNS = Number(runsArg ?? 5);
const origin = new URL(base).origin;
const file = (path) => readFileSync(new URL(`./node_modules/${path}`, import.meta.url));
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const ms = (v) => `${v.toFixed(1).padStart(8)} ms`;

const browser = await chromium.launch({
  executablePath: process.env.OZVI_CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});

try {
  const context = await browser.newContext({ viewport: { width: 390, height: 800 }, locale: 'cs-CZ' });
  const wrappers = file('libsodium-wrappers/dist/modules-esm/libsodium-wrappers.mjs').toString()
    .replace(/from\s*"libsodium"/, 'from"./libsodium.mjs"');
  const served = {
    '/__bench/libsodium-wrappers.mjs': wrappers,
    '/__bench/libsodium.mjs': file('libsodium/dist/modules-esm/libsodium.mjs'),
  };
  await context.route(`${origin}/__bench/**`, (route) => route.fulfill({
    contentType: 'text/javascript', body: served[new URL(route.request().url()).pathname],
  }));
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`page error: ${e}`));
  await page.goto(base);
  await page.waitForFunction(() => performance.getEntriesByName('ozvi:crypto-ready').length > 0);

  // --- Sealing 10 MiB, side by side in this page ---
  const sealing = await page.evaluate(async (runs) => {
    const crypto = await import('/crypto.js');
    const files = await import('/pkg/ozvi_web_files.js');
    await files.default();
    const sodium = (await import('/__bench/libsodium-wrappers.mjs')).default;
    await sodium.ready;
    const size = 10 * 1024 * 1024;
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i += 65536) self.crypto.getRandomValues(bytes.subarray(i, i + 65536));
    const blob = new Blob([bytes]);
    const bucket = new Uint8Array(16781332);
    const mailbox = 'AAAAAAAAAAAAAAAAAAAAAA';
    const person = { mailboxId: mailbox };
    const contenders = {
      worker: async () => { await crypto.sealFile(person, blob, 'image/jpeg', 1, 1); },
      main: async () => {
        const sealed = files.sealFile(mailbox, bytes, 'image/jpeg', 1, 1);
        const out = sealed.takeBlob();
        sealed.reference(new Uint8Array(await self.crypto.subtle.digest('SHA-256', out)));
        sealed.free();
      },
      unhashed: async () => {
        const sealed = files.sealFile(mailbox, bytes, 'image/jpeg', 1, 1);
        sealed.takeBlob();
        sealed.free();
      },
      hash: async () => { await self.crypto.subtle.digest('SHA-256', bucket); },
      libsodium: async () => {
        const key = sodium.crypto_secretstream_xchacha20poly1305_keygen();
        const { state } = sodium.crypto_secretstream_xchacha20poly1305_init_push(key);
        const TAG_MESSAGE = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
        const TAG_FINAL = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL;
        for (let i = 0; i < size; i += 65536) {
          sodium.crypto_secretstream_xchacha20poly1305_push(
            state, bytes.subarray(i, i + 65536), null, i + 65536 >= size ? TAG_FINAL : TAG_MESSAGE,
          );
        }
      },
    };
    const times = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
    for (const f of Object.values(contenders)) await f(); // warm up
    for (let round = 0; round < runs; round += 1) {
      for (const [name, f] of Object.entries(contenders)) {
        const start = performance.now();
        await f();
        times[name].push(performance.now() - start);
      }
    }
    return times;
  }, Math.max(RUNS, 5));
  console.log(`\nSealing 10 MiB in one page, median of ${Math.max(RUNS, 5)} interleaved rounds\n`);
  const labels = {
    worker: 'Ozvi sealFile in the page\'s worker (all of §12.1, with hand-over)',
    main: 'Ozvi sealFile on the main thread (all of §12.1)',
    unhashed: '  of which: 160 chunks, filler, the 16 MiB blob out of WASM',
    hash: '  of which: SHA-256 of the 16 MiB blob (WebCrypto)',
    libsodium: 'libsodium-wrappers secretstream push, 64 KiB chunks',
  };
  const m = Object.fromEntries(Object.entries(sealing).map(([k, v]) => [k, median(v)]));
  for (const [name, value] of Object.entries(m)) {
    const rate = (10 / (value / 1000)).toFixed(0);
    console.log(`  ${labels[name].padEnd(66)} ${ms(value)}  ${rate.padStart(4)} MiB/s  ×${(value / m.libsodium).toFixed(2)} libsodium   (${sealing[name].map((v) => v.toFixed(0)).join(', ')})`);
  }
  console.log(`  goal (Ozvi in the worker not slower than libsodium): ${m.worker <= m.libsodium ? 'PASS' : 'MISS'}`);
  console.log(`  (the blob's SHA-256 alone, which secretstream does not compute, is ×${(m.hash / m.libsodium).toFixed(2)} of libsodium's whole time)`);

  // --- A 12-megapixel JPEG from "choose" to "sent" ---
  const work = mkdtempSync(join(tmpdir(), 'ozvi-photos-bench-'));
  const jpeg = await makeJpeg(page, work, 'BENCH', 4000, 3000);
  console.log(`\nA 12-megapixel JPEG (4000×3000, ${(readFileSync(jpeg).length / 1048576).toFixed(1)} MiB, with EXIF, XMP, IPTC) from "choose" to "sent", median of ${RUNS}\n`);
  const first = [];
  const later = [];
  for (let run = 0; run < RUNS; run += 1) {
    const p = await context.newPage();
    await p.goto(base);
    await p.waitForFunction(() => performance.getEntriesByName('ozvi:crypto-ready').length > 0);
    await p.click('#start-new');
    await p.selectOption('#region', 'CZ-72');
    await p.fill('#message', 'Fotka.');
    const t0 = Date.now();
    await p.setInputFiles('#form-photo-input', jpeg);
    await p.waitForFunction(() => document.querySelectorAll('#form-photo-list canvas').length === 1);
    const t1 = Date.now();
    await p.click('#send');
    await p.locator('#screen-code').waitFor({ state: 'visible', timeout: 60000 });
    const t2 = Date.now();
    const steps = await p.evaluate(() => Object.fromEntries(performance.getEntriesByType('measure')
      .filter((e) => e.name.startsWith('ozvi:')).map((e) => [e.name.slice(5), e.duration])));
    first.push({ ...steps, total: t2 - t0, thumbnail: t1 - t0, toCode: t2 - t1 });
    // Her next message, with the same photo (no key derivation).
    const code = (await p.locator('#code').textContent()).trim();
    await p.fill('#code-check', code.replaceAll('-', '').slice(-3));
    await p.click('#code-continue');
    await p.locator('#screen-thread').waitFor({ state: 'visible' });
    await p.fill('#write-text', 'Ještě.');
    const u0 = Date.now();
    await p.setInputFiles('#write-photo-input', jpeg);
    await p.waitForFunction(() => document.querySelectorAll('#write-photo-list canvas').length === 1);
    const u1 = Date.now();
    await p.click('#write-send');
    await p.waitForFunction(() => document.querySelectorAll('#write-photo-list canvas').length === 0
      && document.querySelectorAll('#messages canvas').length === 2, null, { timeout: 60000 });
    const u2 = Date.now();
    later.push({ total: u2 - u0, thumbnail: u1 - u0, send: u2 - u1 });
    console.error(`run ${run + 1}: first ${JSON.stringify(first.at(-1))}; later ${JSON.stringify(later.at(-1))}`);
    await p.close();
  }
  const row = (label, list, key, goal) => {
    const value = median(list.map((r) => r[key] ?? 0));
    const verdict = goal ? `   goal ≤ ${goal} ms: ${value <= goal ? 'PASS' : 'MISS'}` : '';
    console.log(`  ${label.padEnd(58)} ${ms(value)}   (${list.map((r) => (r[key] ?? 0).toFixed(0)).join(', ')})${verdict}`);
  };
  row('first contact: choose → thumbnail (decode, re-encode)', first, 'thumbnail');
  row('  Send → code: key derivation (Argon2id)', first, 'derive');
  row('  Send → code: sealing the photo (worker)', first, 'seal-files');
  row('  Send → code: upload with the proof of work', first, 'upload');
  row('  Send → code: the message (POST /api/v1/threads)', first, 'send');
  row('first contact: Send → code on screen', first, 'toCode');
  row('first contact: choose → sent', first, 'total', 3000);
  row('later message: choose → thumbnail', later, 'thumbnail');
  row('later message: Send → shown as sent', later, 'send');
  row('later message: choose → sent', later, 'total', 3000);
} finally {
  await browser.close();
}
