// Figures of the person's page in headless Chromium (Debian's), against a
// running relay that serves it (`cargo xtask web-bench` starts one):
//
// - the size of everything the page downloads: the bytes the relay sends
//   for `Accept-Encoding: identity`, `gzip` and `br` (its precompressed
//   variants), and what Chromium itself received on the wire;
// - time from opening the page to interactive;
// - time from "Send" to the code on screen, split into key derivation,
//   proof of work, sealing and the request;
// - sealing a 4 KiB message in WebAssembly, side by side in the same page
//   with libsodium-wrappers' crypto_box_seal and OpenPGP.js (both loaded
//   only here, from tests/browser/node_modules, as same-origin files).
//
//   node person-bench.mjs BASE_URL [RUNS]

import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { chromium } from 'playwright-core';

const [base, runsArg] = process.argv.slice(2);
const RUNS = Number(runsArg ?? 5);
const origin = new URL(base).origin;
// Read by path: the packages' `exports` do not list these browser builds.
const file = (path) => readFileSync(new URL(`./node_modules/${path}`, import.meta.url));

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};
const ms = (v) => `${v.toFixed(2).padStart(9)} ms`;

// The body bytes the relay puts on the wire for `path` when the client
// accepts `encoding` (node:http decompresses nothing), and the coding it
// says it used.
const transferred = (path, encoding) => new Promise((resolve, reject) => {
  const req = httpRequest(`${origin}${path}`, { headers: { 'accept-encoding': encoding } }, (res) => {
    let bytes = 0;
    res.on('data', (chunk) => { bytes += chunk.length; });
    res.on('end', () => resolve({ bytes, coding: res.headers['content-encoding'] ?? 'identity' }));
    res.on('error', reject);
  });
  req.on('error', reject);
  req.end();
});

const browser = await chromium.launch({
  executablePath: process.env.OZVI_CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});

try {
  // --- Sizes, time to interactive, Send → code -----------------------------
  const sizes = new Map();
  // What Chromium received in the first run: encoded body bytes per path,
  // and the Accept-Encoding it sent.
  const wire = new Map();
  let chromiumAccepts = '';
  const loads = [];
  const sends = [];
  for (let run = 0; run < RUNS; run += 1) {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.origin !== origin) throw new Error(`a request to another origin: ${url}`);
      if (request.method() === 'GET') sizes.set(url.pathname, null);
    });
    if (run === 0) {
      page.on('requestfinished', async (request) => {
        if (request.method() !== 'GET') return;
        const path = new URL(request.url()).pathname;
        const [sent, headers] = await Promise.all([request.sizes(), request.allHeaders()]);
        // A worker's own requests come with no sizes (0): unmeasured.
        if (sent.responseBodySize > 0) wire.set(path, sent.responseBodySize);
        if (path === '/') chromiumAccepts = headers['accept-encoding'] ?? '(none)';
      });
    }
    await page.goto(base);
    console.error(`run ${run + 1}: page opened`);
    await page.waitForFunction(() => performance.getEntriesByName('ozvi:interactive').length > 0);
    console.error(`run ${run + 1}: interactive`);
    // Let the WebAssembly and the early directory fetch finish, as they would while she reads.
    await page.waitForFunction(() => performance.getEntriesByName('ozvi:crypto-ready').length > 0);
    loads.push(await page.evaluate(() => performance.getEntriesByName('ozvi:crypto-ready')[0].startTime));
    await page.waitForTimeout(300);
    await page.click('#start-new');
    await page.selectOption('#region', 'CZ-72');
    await page.fill('#message', 'Potřebuji poradit. '.repeat(25));
    await page.click('#send');
    await page.locator('#screen-code').waitFor({ state: 'visible', timeout: 30000 });
    console.error(`run ${run + 1}: code shown`);
    sends.push(await page.evaluate(() => {
      const measure = (name) => performance.getEntriesByName(`ozvi:${name}`, 'measure')[0]?.duration ?? 0;
      const mark = (name) => performance.getEntriesByName(`ozvi:${name}`, 'mark')[0].startTime;
      return {
        derive: measure('derive'),
        pow: measure('pow'),
        seal: measure('seal'),
        send: measure('send'),
        total: mark('code-shown') - mark('send-clicked'),
      };
    }));
    await context.close();
  }
  // Each GET the page made, fetched once more per coding to weigh it.
  for (const path of sizes.keys()) {
    const [raw, gzip, br] = await Promise.all(
      ['identity', 'gzip', 'br'].map((encoding) => transferred(path, encoding)));
    if (raw.coding !== 'identity') throw new Error(`${path}: ${raw.coding} sent for identity`);
    sizes.set(path, { raw: raw.bytes, gzip, br });
  }

  const bytes = { raw: 0, gzip: 0, br: 0, chromium: 0 };
  const cell = (t) => `${String(t.bytes).padStart(9)}${t.coding === 'identity' ? '*' : ' '}`;
  console.log('\nWhat the page downloads: body bytes the relay sends per Accept-Encoding');
  console.log('(each file once; * = sent as it is: no variant, or an API answer)\n');
  console.log('  file                                  identity       gzip         br   Chromium');
  for (const [path, size] of [...sizes].sort()) {
    const got = wire.get(path);
    console.log(`  ${path.padEnd(34)} ${String(size.raw).padStart(9)}  ${cell(size.gzip)} ${cell(size.br)} ${String(got ?? '-').padStart(10)}`);
    bytes.raw += size.raw;
    bytes.gzip += size.gzip.bytes;
    bytes.br += size.br.bytes;
    bytes.chromium += got ?? 0;
  }
  console.log(`  ${'total'.padEnd(34)} ${String(bytes.raw).padStart(9)}  ${String(bytes.gzip).padStart(9)}  ${String(bytes.br).padStart(9)}  ${String(bytes.chromium).padStart(10)}`);
  const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
  console.log(`  identity ${kib(bytes.raw)}, gzip ${kib(bytes.gzip)}, br ${kib(bytes.br)}; `
    + `Chromium (Accept-Encoding: ${chromiumAccepts}) received ${kib(bytes.chromium)}`);
  console.log('  (Chromium "-": requested by the worker, which Playwright gives no sizes for)');
  console.log(`  what a browser receives (br): ${kib(bytes.br)}   target ≤ 250 KiB: ${bytes.br / 1024 <= 250 ? 'PASS' : 'MISS'}`);

  console.log(`\nOpening the page until the WebAssembly is ready in its worker, median of ${RUNS}: ${ms(median(loads))}`);
  console.log(`\nFrom "Send" to the code on screen, median of ${RUNS} (proof of work at the relay's difficulty)\n`);
  for (const part of ['derive', 'pow', 'seal', 'send', 'total']) {
    const label = { derive: 'key derivation (Argon2id)', pow: 'proof of work (challenge + solving)',
      seal: 'sealing', send: 'the request (durable)', total: 'total' }[part];
    console.log(`  ${label.padEnd(36)} ${ms(median(sends.map((s) => s[part])))}   (${sends.map((s) => s[part].toFixed(0)).join(', ')})`);
  }
  const total = median(sends.map((s) => s.total));
  console.log(`  target ≤ 3000 ms: ${total <= 3000 ? 'PASS' : 'MISS'}`);

  // --- A cheap phone: Chrome's "Slow 4G" and a 4× slower CPU ----------------------
  // First text = first contentful paint; form usable = the page's handlers
  // wired (ozvi:interactive: "Napsat poprvé" opens the form and it takes
  // text); cryptography ready = the WebAssembly loaded in the worker.
  const cheap = [];
  for (let run = 0; run < RUNS; run += 1) {
    const context = await browser.newContext({ viewport: { width: 360, height: 740 }, locale: 'cs-CZ' });
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false, latency: 562.5, downloadThroughput: 180000, uploadThroughput: 84375,
    });
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
    await page.goto(base, { waitUntil: 'commit' });
    await page.waitForFunction(() => performance.getEntriesByName('ozvi:crypto-ready').length > 0, null, { timeout: 60000 });
    await page.click('#start-new');
    await page.fill('#message', 'funguje to');
    cheap.push(await page.evaluate(() => ({
      firstText: performance.getEntriesByName('first-contentful-paint')[0].startTime,
      usable: performance.getEntriesByName('ozvi:interactive')[0].startTime,
      crypto: performance.getEntriesByName('ozvi:crypto-ready')[0].startTime,
    })));
    console.error(`cheap phone run ${run + 1}: ${JSON.stringify(cheap.at(-1))}`);
    await context.close();
  }
  console.log(`\nA cheap phone (4× CPU slowdown, Slow 4G: 562.5 ms latency, 180 kB/s down), median of ${RUNS}\n`);
  for (const [part, label, target] of [
    ['firstText', 'first text on screen (first contentful paint)', 1500],
    ['usable', 'form usable (handlers wired)', 3000],
    ['crypto', 'cryptography ready (WebAssembly in the worker)', null],
  ]) {
    const value = median(cheap.map((c) => c[part]));
    const verdict = target === null ? '' : `   target ≤ ${target} ms: ${value <= target ? 'PASS' : 'MISS'}`;
    console.log(`  ${label.padEnd(48)} ${ms(value)}   (${cheap.map((c) => c[part].toFixed(0)).join(', ')})${verdict}`);
  }

  // --- Sealing 4 KiB, side by side ----------------------------------------------
  const context = await browser.newContext();
  const wrappers = file('libsodium-wrappers/dist/modules-esm/libsodium-wrappers.mjs').toString()
    .replace(/from\s*"libsodium"/, 'from"./libsodium.mjs"');
  const served = {
    '/__bench/libsodium-wrappers.mjs': wrappers,
    '/__bench/libsodium.mjs': file('libsodium/dist/modules-esm/libsodium.mjs'),
    '/__bench/openpgp.mjs': file('openpgp/dist/openpgp.min.mjs'),
  };
  await context.route(`${origin}/__bench/**`, (route) => route.fulfill({
    contentType: 'text/javascript', body: served[new URL(route.request().url()).pathname],
  }));
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`page error: ${e}`));
  await page.goto(base);
  await page.waitForFunction(() => performance.getEntriesByName('ozvi:crypto-ready').length > 0);
  const result = await page.evaluate(async () => {
    const ozvi = await import('/pkg/ozvi_web.js');
    // The page itself runs the module in a worker: initialise it here too.
    await ozvi.default();
    const sodium = (await import('/__bench/libsodium-wrappers.mjs')).default;
    await sodium.ready;
    const openpgp = await import('/__bench/openpgp.mjs');

    const [{ root_key: rootKey }, signed] = await Promise.all([
      fetch('/api/v1/config').then((r) => r.json()),
      fetch('/api/v1/directory').then((r) => r.text()),
    ]);
    const deployment = new ozvi.Deployment(signed, rootKey);
    const centres = JSON.parse(deployment.centresJson());
    const centre = centres[0];
    const person = ozvi.Person.derive(ozvi.newCode(), deployment);
    const text = 'a'.repeat(4096);
    const bytes = new TextEncoder().encode(text);
    // The same three recipients for everyone: an Ozvi message goes to the
    // centre's two staff members and to herself.
    const boxes = [0, 1, 2].map(() => sodium.crypto_box_keypair());
    const pgpKeys = [];
    for (let i = 0; i < 3; i += 1) {
      pgpKeys.push((await openpgp.generateKey({
        type: 'curve25519', userIDs: [{ name: `bench ${i}` }], format: 'object',
      })).publicKey);
    }
    const pgpMessage = await openpgp.createMessage({ binary: bytes });

    const contenders = {
      ozvi: async () => { person.seal(deployment, centre.id, text, 0); },
      libsodium3: async () => { for (const b of boxes) sodium.crypto_box_seal(bytes, b.publicKey); },
      openpgp3: async () => {
        await openpgp.encrypt({ message: pgpMessage, encryptionKeys: pgpKeys, format: 'binary' });
      },
      libsodium1: async () => { sodium.crypto_box_seal(bytes, boxes[0].publicKey); },
      openpgp1: async () => {
        await openpgp.encrypt({ message: pgpMessage, encryptionKeys: pgpKeys[0], format: 'binary' });
      },
    };
    // Warm up, then interleave batches of ~50 ms for each, 15 rounds.
    const perOp = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
    for (const f of Object.values(contenders)) for (let i = 0; i < 20; i += 1) await f();
    for (let round = 0; round < 15; round += 1) {
      for (const [name, f] of Object.entries(contenders)) {
        let n = 0;
        const start = performance.now();
        while (performance.now() - start < 50) { await f(); n += 1; }
        perOp[name].push((performance.now() - start) / n);
      }
    }
    return { perOp };
  });
  console.log('\nSealing a 4 KiB message in this page, median of 15 interleaved rounds\n');
  const medians = Object.fromEntries(Object.entries(result.perOp).map(([k, v]) => [k, median(v)]));
  const labels = {
    ozvi: 'Ozvi (WASM) seal: 3 recipients, signed, padded to 4608 B',
    libsodium3: 'libsodium-wrappers crypto_box_seal × 3 recipients',
    openpgp3: 'OpenPGP.js encrypt to 3 curve25519 keys',
    libsodium1: '  (libsodium-wrappers crypto_box_seal, 1 recipient)',
    openpgp1: '  (OpenPGP.js encrypt, 1 recipient)',
  };
  for (const [name, value] of Object.entries(medians)) {
    console.log(`  ${labels[name].padEnd(60)} ${ms(value)}   ×${(value / medians.ozvi).toFixed(2)} Ozvi`);
  }
  const same = ['ozvi', 'libsodium3', 'openpgp3'];
  const slowest = same.sort((a, b) => medians[b] - medians[a])[0];
  console.log(`  slowest of the three (same 3 recipients): ${slowest}   target (Ozvi not the slowest): ${slowest === 'ozvi' ? 'MISS' : 'PASS'}`);
} finally {
  await browser.close();
}
