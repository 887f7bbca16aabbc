// The worker's photo operations (docs/WEB.md, "Photos"), imported by
// worker.js only when she first adds a photo or opens a file: re-encoding
// (reencode.js), sealing and opening with ozvi-web's second WebAssembly
// module (pkg/ozvi_web_files.js). Each returns `[value, buffers]`, the
// ArrayBuffers that move to the page instead of being copied.

import { fileDownload } from './api.js';
import initFiles, { openFile, sealFile, sha256 } from './pkg/ozvi_web_files.js';
import { canReencode, reencode } from './reencode.js';

/** The largest blob: 20 + 256 · 65552 bytes (PROTOCOL.md §12.1). */
const MAX_BLOB = 16781332;

const ready = initFiles();
// A module that cannot load fails the calls that need it, not the worker.
ready.catch(() => {});

export const ops = {
  /**
   * Re-encodes a photo: `{blob, type, width, height}`, the Blob shared with
   * the page, not copied. `file_no_canvas` when this worker cannot draw off
   * screen (the page re-encodes then).
   */
  async reencode(file, asPng) {
    if (!canReencode()) throw new Error('file_no_canvas');
    return [await reencode(file, asPng), []];
  },
  /**
   * Seals re-encoded bytes (a Blob) for upload: `{blob, reference, id}`.
   * The blob's SHA-256 (PROTOCOL.md §12.1) is the browser's WebCrypto,
   * several times faster than SHA-256 in WebAssembly; a page without it
   * (not served over HTTPS) hashes in WebAssembly.
   */
  async sealFile(mailboxId, file, type, width, height) {
    await ready;
    const bytes = new Uint8Array(await file.arrayBuffer());
    const sealed = sealFile(mailboxId, bytes, type, width, height);
    try {
      const blob = sealed.takeBlob();
      const digest = self.crypto?.subtle
        ? new Uint8Array(await self.crypto.subtle.digest('SHA-256', blob))
        : sha256(blob);
      const reference = sealed.reference(digest);
      return [{ blob, reference, id: sealed.id }, [blob.buffer]];
    } finally {
      sealed.free();
    }
  },
  /**
   * Downloads a file of her thread and opens it with its reference: the
   * file's bytes, or the error code (`file_*`, `file_download`).
   */
  async download(mailboxId, authSecret, reference) {
    await ready;
    const { id } = JSON.parse(reference);
    let response;
    try {
      const request = fileDownload({ mailboxId, authSecret }, String(id));
      response = await fetch(request.path, {
        method: request.method,
        headers: request.headers,
        cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer',
      });
    } catch {
      throw new Error('file_download');
    }
    // No blob is longer than the 16 MiB bucket (PROTOCOL.md §12.1): a
    // longer answer is not read.
    const declared = Number(response.headers.get('Content-Length') ?? 0);
    if (!response.ok || declared > MAX_BLOB) throw new Error('file_download');
    const blob = new Uint8Array(await response.arrayBuffer());
    if (blob.length > MAX_BLOB) throw new Error('file_download');
    const bytes = openFile(mailboxId, reference, blob);
    return [bytes, [bytes.buffer]];
  },
};
