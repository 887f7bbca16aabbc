// Photo fixtures and checks shared by the photo stories (photos.mjs, the
// benchmark, and the desk's acceptance test later):
//
// - makeJpeg / makePng: pictures drawn by Chromium, then loaded with
//   metadata by Debian's exiftool (libimage-exiftool-perl): GPS, EXIF
//   (camera, serial, orientation), XMP, an IPTC byline and a JPEG comment;
//   PNG tEXt chunks. Every value carries a canary.
// - metadata(file): exiftool's view of a file, `{tags, width, height}`.
// - assertStripped(file, canary): no GPS, EXIF, XMP, IPTC, comment, text
//   chunk or canary in the file.
// - openThreadFiles(base, code): her thread read and every attached file
//   opened with the page's own WebAssembly modules (web-client/dist), in
//   Node: `[{seq, reference, bytes}]`.

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const DIST = new URL('../../web-client/dist/', import.meta.url);

/** Fails with `what` unless `ok`. */
export const check = (ok, what) => { if (!ok) throw new Error(what); };

const exiftool = (args) => execFileSync('exiftool', args, { encoding: 'utf8', maxBuffer: 64 << 20 });

/** Pixels drawn in Chromium as an image of `type` (a detailed scene, not flat). */
async function draw(page, width, height, type, quality) {
  const b64 = await page.evaluate(async ({ width, height, type, quality }) => {
    const canvas = new OffscreenCanvas(width, height);
    const c = canvas.getContext('2d');
    const g = c.createLinearGradient(0, 0, width, height);
    g.addColorStop(0, '#c33');
    g.addColorStop(0.5, '#3a6');
    g.addColorStop(1, '#36c');
    c.fillStyle = g;
    c.fillRect(0, 0, width, height);
    // A little noise and text, as a photo or a screenshot has.
    let seed = 7;
    const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
    for (let i = 0; i < 400; i += 1) {
      c.fillStyle = `hsla(${Math.floor(rnd() * 360)},60%,50%,0.5)`;
      c.fillRect(rnd() * width, rnd() * height, rnd() * width / 10, rnd() * height / 10);
    }
    c.fillStyle = '#000';
    c.font = `${Math.round(height / 20)}px sans-serif`;
    c.fillText('Ozvi test 1234', width / 10, height / 2);
    const blob = await canvas.convertToBlob({ type, quality });
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(s);
  }, { width, height, type, quality });
  return Buffer.from(b64, 'base64');
}

/**
 * A JPEG of `width`×`height` pixels with EXIF Orientation 6 (shown turned a
 * quarter clockwise), GPS, camera make, model and serial, XMP, an IPTC
 * byline and a comment, each carrying `canary`. Returns its path.
 */
export async function makeJpeg(page, dir, canary, width = 4000, height = 3000) {
  const path = join(dir, 'photo.jpg');
  writeFileSync(path, await draw(page, width, height, 'image/jpeg', 0.92));
  exiftool([
    '-overwrite_original', '-n',
    '-GPSLatitude=49.2265', '-GPSLatitudeRef=N', '-GPSLongitude=17.6707', '-GPSLongitudeRef=E',
    `-Make=Make${canary}`, `-Model=Model${canary}`, `-SerialNumber=SN${canary}`,
    `-Artist=Artist${canary}`, '-Orientation=6',
    `-XMP-dc:Creator=XMP${canary}`, `-XMP-dc:Description=XMP${canary}`,
    `-IPTC:By-line=IPTC${canary}`, `-IPTC:City=IPTC${canary}`,
    `-Comment=COM${canary}`,
    path,
  ]);
  return path;
}

/** A PNG screenshot of `width`×`height` with tEXt chunks carrying `canary`. */
export async function makePng(page, dir, canary, width = 1080, height = 1920) {
  const path = join(dir, 'screenshot.png');
  writeFileSync(path, await draw(page, width, height, 'image/png'));
  exiftool([
    '-overwrite_original',
    `-PNG:Comment=PNG${canary}`, `-PNG:Author=PNG${canary}`, `-PNG:Software=PNG${canary}`,
    path,
  ]);
  return path;
}

/** A WebP photo of `width`×`height` (Chromium's encoder, no metadata). */
export async function makeWebp(page, dir, width = 800, height = 600) {
  const path = join(dir, 'photo.webp');
  writeFileSync(path, await draw(page, width, height, 'image/webp', 0.8));
  return path;
}

/** exiftool's view of `path`: every tag by group (`GROUP:Tag`), and the pixel size. */
export function metadata(path) {
  const [tags] = JSON.parse(exiftool(['-j', '-a', '-G1', '-s', '-n', path]));
  return { tags, width: tags['File:ImageWidth'] ?? tags['PNG:ImageWidth'], height: tags['File:ImageHeight'] ?? tags['PNG:ImageHeight'] };
}

/** Tag groups and names no re-encoded picture may carry. */
const FORBIDDEN_GROUPS = /^(GPS|IFD\d|ExifIFD|SubIFD|InteropIFD|MakerNotes|XMP|IPTC|Photoshop|ICC|APP\d|FlashPix|MPF|CIFF)/;
const FORBIDDEN_TAGS = /(Comment|Author|Software|Artist|Creator|By-line|Make|Model|Serial|GPS|Orientation|ThumbnailImage|PreviewImage|Description|City)$/;

/** The forbidden tags exiftool finds in `path`: `[]` when it is clean. */
export function leftovers(path, canary) {
  const { tags } = metadata(path);
  const found = Object.keys(tags).filter((key) => {
    const [group, tag = ''] = key.split(':');
    if (group === 'SourceFile' || group === 'ExifTool' || group === 'System') return false;
    return FORBIDDEN_GROUPS.test(group) || FORBIDDEN_TAGS.test(tag);
  });
  if (readFileSync(path).includes(Buffer.from(canary))) found.push(`the canary ${canary} in the bytes`);
  return found;
}

async function loadModule(name) {
  const module = await import(new URL(`pkg/${name}.js`, DIST));
  await module.default({ module_or_path: readFileSync(new URL(`pkg/${name}_bg.wasm`, DIST)) });
  return module;
}

/**
 * Her thread at `base`, opened with `code` as her page opens it, and every
 * attached file downloaded and opened: `[{seq, from, reference, bytes}]`.
 */
export async function openThreadFiles(base, code) {
  const page = await loadModule('ozvi_web');
  const files = await loadModule('ozvi_web_files');
  const get = async (path, headers = {}) => {
    const response = await fetch(new URL(path, base), { headers });
    check(response.ok, `GET ${path}: ${response.status}`);
    return response;
  };
  const { root_key: rootKey } = await (await get('/api/v1/config')).json();
  const deployment = new page.Deployment(await (await get('/api/v1/directory')).text(), rootKey);
  const person = page.Person.derive(code, deployment);
  const auth = { 'Ozvi-Mailbox': person.mailboxId, 'Ozvi-Auth': person.authSecret };
  const listing = await (await get('/api/v1/mailbox/messages?after=0', auth)).json();
  const out = [];
  for (const message of listing.messages) {
    const opened = JSON.parse(person.open(deployment, message.envelope));
    const body = JSON.parse(opened.body);
    for (const reference of body.files ?? []) {
      const blob = new Uint8Array(await (await get('/api/v1/mailbox/file', { ...auth, 'Ozvi-File': reference.id })).arrayBuffer());
      const bytes = files.openFile(person.mailboxId, JSON.stringify(reference), blob);
      out.push({ seq: message.seq, from: opened.from, reference, bytes: Buffer.from(bytes) });
    }
  }
  person.free();
  deployment.free();
  return out;
}
