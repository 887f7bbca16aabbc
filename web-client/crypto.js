// The page's side of worker.js: every cryptographic step as a promise. The
// worker (and with it the WebAssembly module, the key derivation and the
// proof of work) starts loading as soon as this module runs, while she reads
// and types; nothing here blocks the page.

import { onExit } from './exit.js';

let worker = null;
/** Set when the worker could not load, or after the quick exit: calls fail at once. */
let failure = null;
let nextId = 1;
const waiting = new Map();

/** The code of an error the worker answered (ozvi-web's, e.g. `code_typo`). */
export class CryptoError extends Error {}

function failAll(code) {
  for (const { reject } of waiting.values()) reject(new CryptoError(code));
  waiting.clear();
}

function start() {
  worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  worker.onmessage = ({ data }) => {
    const pending = waiting.get(data?.id);
    if (!pending) return;
    waiting.delete(data.id);
    if (data.ok) pending.resolve(data.value);
    else pending.reject(new CryptoError(data.error));
  };
  // A worker that cannot load (an old browser, a blocked module) fails
  // every call with `worker_failed`; the page says the browser cannot do it.
  worker.onerror = (event) => {
    event.preventDefault?.();
    failure = 'worker_failed';
    failAll(failure);
  };
}

function call(op, ...args) {
  if (failure) return Promise.reject(new CryptoError(failure));
  if (!worker) {
    try {
      start();
    } catch {
      failure = 'worker_failed';
      return Promise.reject(new CryptoError(failure));
    }
  }
  return new Promise((resolve, reject) => {
    const id = nextId;
    nextId += 1;
    waiting.set(id, { resolve, reject });
    worker.postMessage({ id, op, args });
  });
}

/** Ends the worker at once: her keys go with its memory (the quick exit). */
export function stop() {
  worker?.terminate();
  worker = null;
  failure = 'stopped';
  failAll(failure);
}
onExit(stop);

/**
 * Starts loading the WebAssembly module in the background; resolves when it
 * is ready, rejects with `worker_failed` when this browser cannot run it.
 */
export const ready = () => call('ready');

/** Verifies the signed directory under the root key; returns its centres. */
export const verifyDirectory = async (signed, rootKey) => JSON.parse(await call('directory', signed, rootKey));
export const centreFor = (region) => call('centreFor', region);
export const checkCode = (input) => call('checkCode', input);
/** `{handle, mailboxId, authSecret, verifier, code}` for a new code. */
export const newPerson = () => call('newPerson');
/** `{handle, mailboxId, authSecret, verifier}` for a typed code. */
export const derive = (code) => call('derive', code);
export const seal = (person, centre, body, sentAt) => call('seal', person.handle, centre, body, sentAt);
export const newConversation = () => call('newConversation');
/** ozvi-web's `openInThread` result, parsed. */
export const open = async (person, conversation, seq, envelope) => JSON.parse(
  await call('open', person.handle, conversation, seq, envelope),
);
export const solvePow = (challenge, difficulty) => call('pow', challenge, difficulty);
/** Frees a person or conversation in the worker (its keys are zeroized). */
export const free = (handle) => {
  if (worker && handle) call('free', handle).catch(() => {});
};

/**
 * Re-encodes a photo in the worker: `{blob, type, width, height}`; rejects
 * with `file_undecodable`, `file_too_large` or `file_no_canvas` (this
 * browser's worker cannot draw: re-encode on the page).
 */
export const reencode = (file, asPng) => call('file', 'reencode', file, asPng);
/** Seals a re-encoded photo (a Blob) of her mailbox: `{blob: Uint8Array, reference, id}`. */
export const sealFile = (person, file, type, width, height) => call(
  'file', 'sealFile', person.mailboxId, file, type, width, height,
);
/** Downloads and opens a file of her thread (reference: JSON text): its bytes. */
export const download = (person, reference) => call(
  'file', 'download', person.mailboxId, person.authSecret, reference,
);
