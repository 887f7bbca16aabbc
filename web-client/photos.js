// Attached photos and screenshots (docs/WEB.md, "Photos"), loaded only when
// she first adds one or a message of her conversation carries a file, so a
// first visit does not download it.
//
// - Choosing: JPEG, PNG, WebP and (where the browser decodes it) HEIC, at
//   most five per message; anything else is refused with one kind sentence.
//   Each picture is re-encoded from pixels (reencode.js, in the worker) and
//   she sees a thumbnail drawn from exactly the bytes that will be sent.
// - Sending: each picture is sealed in the worker (ozvi-crypto), uploaded
//   with a progress bar before the message that claims it; an interrupted
//   upload goes again under the same file id, never as a second copy.
// - Showing: files of her conversation are downloaded and opened in the
//   worker and drawn on canvases; a PDF becomes a link to its bytes.
// Everything lives in this module's memory only; the quick exit wipes it.

import { fileUpload } from './api.js';
import * as crypto from './crypto.js';
import { onExit } from './exit.js';
import { LANGUAGES, language, t } from './i18n.js';

/** The words only this module uses (the page's others are in i18n.js). */
const TEXTS = {
  cs: {
    'photo.refused': 'Tento soubor neumíme poslat. Pošlete prosím snímek obrazovky, nebo to popište slovy.',
    'photo.too-many': 'Ke zprávě můžete přidat nejvýše {max} souborů.',
    'photo.remove': 'Odebrat',
    'photo.alt': 'Fotka {n}',
    'photo.loading': 'Otevírá se příloha…',
    'photo.pdf': 'Otevřít přílohu {name}',
  },
  en: {
    'photo.refused': 'We cannot send this file. Please send a screenshot instead, or describe it in words.',
    'photo.too-many': 'You can add at most {max} files to a message.',
    'photo.remove': 'Remove',
    'photo.alt': 'Photo {n}',
    'photo.loading': 'Opening the attachment…',
    'photo.pdf': 'Open the attachment {name}',
  },
  uk: {
    'photo.refused': 'Цей файл ми не можемо надіслати. Будь ласка, надішліть знімок екрана або опишіть це словами.',
    'photo.too-many': 'До повідомлення можна додати щонайбільше {max} файлів.',
    'photo.remove': 'Видалити',
    'photo.alt': 'Фото {n}',
    'photo.loading': 'Додаток відкривається…',
    'photo.pdf': 'Відкрити додаток {name}',
  },
};

/** `key` in her language, from here or i18n.js, with {name} filled in. */
function say(key, values = {}) {
  const text = TEXTS[language()]?.[key];
  if (text === undefined) return t(key, values);
  return text.replace(/\{(\w+)\}/g, (_, name) => values[name] ?? '');
}

/** Keys some language lacks here (checked by the photo story). */
export const missingTexts = () => LANGUAGES.flatMap((l) => Object.keys(TEXTS.cs)
  .filter((k) => !(k in TEXTS[l])).map((k) => `${l}:${k}`));

/** At most this many files per message (PROTOCOL.md §12). */
export const MAX_FILES = 5;
const ACCEPTED = ['image/jpeg', 'image/png', 'image/webp', 'image/heic', 'image/heif'];
const THUMB_SIDE = 160;
const SHOWN_SIDE = 1200;
const UPLOAD_TRIES = 3;

/** Uploads in flight, aborted by the quick exit. */
const uploads = new Set();
/** Object URLs handed out (PDF links), revoked by the quick exit. */
const urls = new Set();
/** Opened or sent files by id: `{blob, type, name}` (memory only). */
const files = new Map();
/** Every attachment list, so the quick exit can empty them. */
const lists = new Set();
let wiped = false;

// --- Choosing ----------------------------------------------------------------

/** Whether `file` is of a kind the page takes (the browser must still decode it). */
function accepted(file) {
  if (ACCEPTED.includes(file.type)) return true;
  // Some systems give a HEIC photo no type.
  return file.type === '' && /\.(heic|heif)$/i.test(file.name);
}

async function reencode(file) {
  const asPng = file.type === 'image/png';
  try {
    return await crypto.reencode(file, asPng);
  } catch (error) {
    if (error?.message !== 'file_no_canvas') throw error;
  }
  // This browser's worker cannot draw off screen: the page re-encodes.
  const local = await import('./reencode.js');
  if (!local.canReencode()) throw new Error('file_undecodable');
  return local.reencode(file, asPng);
}

/** A canvas showing `blob` (an image) at most `side` pixels on its longest side. */
async function picture(blob, side, label) {
  const bitmap = await createImageBitmap(blob);
  const scale = Math.min(1, side / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', label);
  canvas.className = 'photo';
  // Styled here: the page's inline style sheet is pinned by its hash (CSP).
  Object.assign(canvas.style, { display: 'block', maxWidth: '100%', height: 'auto' });
  return canvas;
}

/** Empties a canvas's pixels before it leaves the page. */
const blank = (root) => {
  for (const canvas of root.querySelectorAll?.('canvas') ?? []) {
    canvas.width = 0;
    canvas.height = 0;
  }
};

/**
 * The photos chosen for one message: `{blob, type, width, height, sealed}`
 * each, drawn into `list` (an element), with `note` and `error` elements.
 */
export class Attachments {
  constructor({ list, note, error, progress }) {
    Object.assign(this, { list, note, error, progress, items: [] });
    Object.assign(list.style, { listStyle: 'none', padding: '0', margin: '0' });
    lists.add(this);
  }

  get count() {
    return this.items.length;
  }

  /** A key that changes whenever the set of photos changes. */
  get key() {
    return this.items.map((item) => item.serial).join(',');
  }

  say(key) {
    this.error.textContent = key ? say(key, { max: MAX_FILES }) : '';
    this.error.hidden = !key;
  }

  /** Adds chosen files (a FileList); refuses what cannot go, kindly. */
  async add(chosen) {
    this.say(null);
    for (const file of chosen) {
      if (wiped) return;
      if (this.items.length >= MAX_FILES) {
        this.say('photo.too-many');
        break;
      }
      if (!accepted(file)) {
        this.say('photo.refused');
        continue;
      }
      this.progress.hidden = false;
      this.progress.removeAttribute('value');
      let made;
      try {
        made = await reencode(file);
      } catch (error) {
        this.say(error?.message === 'worker_failed' ? 'err.browser' : 'photo.refused');
        continue;
      } finally {
        this.progress.hidden = true;
      }
      if (wiped) return;
      const item = { ...made, serial: Attachments.serial += 1, sealed: null };
      this.items.push(item);
      await this.drawItem(item);
    }
    this.note.hidden = this.items.length === 0;
  }

  async drawItem(item) {
    const li = document.createElement('li');
    li.className = 'photo-item';
    // Drawn from the re-encoded bytes: exactly what will be sent.
    const canvas = await picture(item.blob, THUMB_SIDE, say('photo.alt', { n: this.items.indexOf(item) + 1 }));
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'photo-remove';
    remove.textContent = say('photo.remove');
    remove.addEventListener('click', () => this.remove(item));
    Object.assign(li.style, { display: 'inline-block', margin: '0 0.5rem 0.5rem 0', verticalAlign: 'top' });
    li.append(canvas, remove);
    item.el = li;
    this.list.append(li);
  }

  remove(item) {
    this.items = this.items.filter((i) => i !== item);
    blank(item.el);
    item.el.remove();
    this.say(null);
    this.note.hidden = this.items.length === 0;
    // Renumber what remains.
    this.items.forEach((i, n) => i.el.querySelector('canvas')?.setAttribute('aria-label', say('photo.alt', { n: n + 1 })));
  }

  clear() {
    blank(this.list);
    this.list.replaceChildren();
    this.items = [];
    this.note.hidden = true;
    this.progress.hidden = true;
    this.say(null);
  }

  /**
   * Seals every photo for `person`'s mailbox (once: a retry reuses the
   * same ids) and returns `{ids, references}` for the message.
   */
  async seal(person) {
    for (const item of this.items) {
      if (item.sealed?.mailboxId === person.mailboxId) continue;
      const sealed = await crypto.sealFile(person, item.blob, item.type, item.width, item.height);
      item.sealed = { ...sealed, mailboxId: person.mailboxId, uploaded: false };
    }
    return {
      ids: this.items.map((item) => item.sealed.id),
      references: this.items.map((item) => JSON.parse(item.sealed.reference)),
    };
  }

  /**
   * Uploads what is not uploaded yet, the first with `firstPow()`'s
   * solution when it gives one (her first contact), with one progress bar.
   */
  async upload(person, firstPow) {
    // Only what the message was sealed with: a photo added since is not in it.
    const pending = this.items.filter((item) => item.sealed?.mailboxId === person.mailboxId && !item.sealed.uploaded);
    const total = pending.reduce((sum, item) => sum + item.sealed.blob.length, 0);
    let done = 0;
    this.progress.max = Math.max(1, total);
    this.progress.value = 0;
    this.progress.hidden = pending.length === 0;
    try {
      for (const [n, item] of pending.entries()) {
        await uploadOne(person, item.sealed, n === 0 ? firstPow : null, (loaded) => {
          this.progress.value = done + loaded;
        });
        item.sealed.uploaded = true;
        done += item.sealed.blob.length;
        this.progress.value = done;
      }
    } finally {
      this.progress.hidden = true;
    }
  }

  /** After the message went: her pictures stay viewable while the page is open. */
  sent() {
    for (const item of this.items) {
      if (item.sealed) files.set(item.sealed.id, { blob: item.blob, type: item.type });
    }
    this.clear();
  }
}
Attachments.serial = 0;

// --- Uploading ------------------------------------------------------------------

/** Why an upload failed: `status` (0 for the network) and the relay's code. */
export class UploadError extends Error {
  constructor(status, code) {
    super(code || 'upload');
    let key = 'err.upload';
    if (status === 0) key = navigator.onLine === false ? 'err.offline' : 'err.relay_down';
    else if (status === 429) key = 'err.rate_limited';
    else if (code === 'quota_exceeded') key = 'err.upload_quota';
    /** The i18n key the page shows. */
    Object.assign(this, { status, code, key });
  }
}

function put(person, sealed, pow, onProgress) {
  return new Promise((resolve, reject) => {
    // XMLHttpRequest: its upload progress events work in every browser.
    const xhr = new XMLHttpRequest();
    uploads.add(xhr);
    const end = () => uploads.delete(xhr);
    const request = fileUpload(person, sealed.id, pow);
    xhr.open(request.method, request.path);
    for (const [name, value] of Object.entries(request.headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => onProgress(event.loaded);
    xhr.onload = () => {
      end();
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve();
        return;
      }
      let code = '';
      try { code = JSON.parse(xhr.responseText).code ?? ''; } catch { /* not the relay's JSON */ }
      reject(new UploadError(xhr.status, code));
    };
    xhr.onerror = () => { end(); reject(new UploadError(0, '')); };
    xhr.onabort = () => { end(); reject(new UploadError(0, 'aborted')); };
    xhr.send(sealed.blob);
  });
}

const pause = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

/**
 * Uploads one sealed file, again under the same id when the connection
 * breaks or the relay is busy: the relay replaces an unclaimed upload, so
 * a retry never leaves a second copy.
 */
async function uploadOne(person, sealed, firstPow, onProgress) {
  for (let attempt = 1; ; attempt += 1) {
    if (wiped) throw new UploadError(0, 'aborted');
    try {
      const pow = firstPow ? await firstPow() : null;
      await put(person, sealed, pow, onProgress);
      return;
    } catch (error) {
      if (!(error instanceof UploadError) || error.code === 'aborted') throw error;
      // Already claimed by a message of hers: it is there.
      if (error.code === 'file_exists') return;
      const transient = error.status === 0 || error.status >= 500 || error.code === 'upload_in_progress';
      if (!transient || attempt >= UPLOAD_TRIES) throw error;
      await pause(500 * attempt);
    }
  }
}

// --- Showing a conversation's files --------------------------------------------------

/** The name a staff file is saved under: the reference's, else a neutral one. */
function fileName(reference) {
  if (typeof reference.name === 'string' && reference.name) return reference.name;
  return reference.type === 'application/pdf' ? 'priloha.pdf' : 'priloha';
}

async function opened(person, reference) {
  const id = String(reference.id);
  if (!files.has(id)) {
    const bytes = await crypto.download(person, JSON.stringify(reference));
    if (wiped) throw new Error('stopped');
    files.set(id, { blob: new Blob([bytes], { type: reference.type }), type: reference.type });
  }
  return files.get(id);
}

/**
 * Fills `container` with a message's files (its body's `files`, as
 * parsed): images drawn inline, a PDF as a link, anything that does not
 * open as one line saying so. `stillShown()` says whether to go on.
 */
export async function showFiles(container, person, references, stillShown) {
  const unavailable = () => {
    const p = document.createElement('p');
    p.className = 'hint';
    p.textContent = say('photo.unavailable');
    return p;
  };
  if (!Array.isArray(references) || references.length > MAX_FILES) {
    container.replaceChildren(unavailable());
    return;
  }
  const slots = references.map(() => {
    const slot = document.createElement('div');
    slot.className = 'file';
    slot.textContent = say('photo.loading');
    container.append(slot);
    return slot;
  });
  const seen = new Set();
  for (const [n, reference] of references.entries()) {
    const slot = slots[n];
    try {
      if (!reference || typeof reference !== 'object' || seen.has(reference.id)) throw new Error('file_invalid_reference');
      seen.add(reference.id);
      const file = await opened(person, reference);
      if (!stillShown()) return;
      if (file.type === 'application/pdf') {
        const link = document.createElement('a');
        const url = URL.createObjectURL(file.blob);
        urls.add(url);
        link.href = url;
        link.download = fileName(reference);
        link.textContent = say('photo.pdf', { name: fileName(reference) });
        slot.replaceChildren(link);
      } else {
        slot.replaceChildren(await picture(file.blob, SHOWN_SIDE, say('photo.alt', { n: n + 1 })));
      }
    } catch {
      if (!stillShown()) return;
      slot.replaceChildren(unavailable());
    }
  }
}

/** Forgets every file, picture and link, and stops every upload (the quick exit, leaving). */
export function wipe() {
  for (const xhr of uploads) xhr.abort();
  uploads.clear();
  for (const url of urls) URL.revokeObjectURL(url);
  urls.clear();
  files.clear();
  for (const list of lists) {
    for (const item of list.items) item.sealed = null;
    list.clear();
  }
}

onExit(() => {
  wiped = true;
  wipe();
});
