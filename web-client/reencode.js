// Strips a photo by re-encoding it (the mat2 method): the browser decodes
// it to pixels, orientation applied, and a fresh JPEG (or PNG, for a
// screenshot) is encoded from those pixels. No byte of the original file is
// ever copied, so no EXIF, XMP, IPTC, ICC profile, comment, thumbnail or
// trailing data can survive, whether or not anyone knows it is there.
// Runs in the worker (worker.js) where OffscreenCanvas is available there,
// else on the page (photos.js). Loaded only once she adds a photo.

/** The longest side of a sent picture, in pixels. */
export const MAX_SIDE = 3000;
/** A re-encoded PNG larger than this goes as JPEG instead. */
export const PNG_BUDGET = 4 * 1024 * 1024;
/** The largest file a blob holds (PROTOCOL.md §12.1). */
const MAX_BYTES = 16 * 1024 * 1024;
const QUALITY = 0.85;

/**
 * The encoder's own output, keeping only what pictures need: the browser's
 * JPEG encoder adds an ICC colour profile (its own sRGB one, which would
 * name the engine). Segments and chunks outside a short list are left out;
 * the original file is never read here.
 */
export function onlyPixels(bytes, type) {
  const parts = [];
  if (type === 'image/jpeg') {
    // SOI; then APP0 (JFIF), DQT, SOFn, DHT, DRI, and from SOS on everything.
    if (bytes[0] !== 0xff || bytes[1] !== 0xd8) throw new Error('file_undecodable');
    parts.push(bytes.subarray(0, 2));
    let i = 2;
    while (i + 4 <= bytes.length) {
      if (bytes[i] !== 0xff) throw new Error('file_undecodable');
      const marker = bytes[i + 1];
      if (marker === 0xda) {
        parts.push(bytes.subarray(i));
        return new Blob(parts, { type });
      }
      const end = i + 2 + ((bytes[i + 2] << 8) | bytes[i + 3]);
      const keep = marker === 0xe0 || marker === 0xdb || marker === 0xc4 || marker === 0xdd
        || (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker));
      if (keep) parts.push(bytes.subarray(i, end));
      i = end;
    }
    throw new Error('file_undecodable');
  }
  // PNG: the signature, then IHDR, PLTE, tRNS, IDAT, IEND only.
  parts.push(bytes.subarray(0, 8));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 8; i + 12 <= bytes.length;) {
    const end = i + 12 + view.getUint32(i);
    const name = String.fromCharCode(...bytes.subarray(i + 4, i + 8));
    if (['IHDR', 'PLTE', 'tRNS', 'IDAT', 'IEND'].includes(name)) parts.push(bytes.subarray(i, end));
    if (name === 'IEND') return new Blob(parts, { type });
    i = end;
  }
  throw new Error('file_undecodable');
}

/** Whether this realm can re-encode (decode to a bitmap, draw off screen). */
export const canReencode = () => typeof OffscreenCanvas === 'function'
  && typeof createImageBitmap === 'function';

/**
 * Re-encodes `file` (a Blob). Resolves `{blob, type, width, height}`;
 * rejects with `file_undecodable` when the browser cannot decode it.
 */
export async function reencode(file, asPng) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  } catch {
    throw new Error('file_undecodable');
  }
  try {
    const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
    const width = Math.max(1, Math.round(bitmap.width * scale));
    const height = Math.max(1, Math.round(bitmap.height * scale));
    const canvas = new OffscreenCanvas(width, height);
    const context = canvas.getContext('2d');
    if (!asPng) {
      // JPEG has no transparency: what was transparent becomes white.
      context.fillStyle = '#fff';
      context.fillRect(0, 0, width, height);
    }
    context.drawImage(bitmap, 0, 0, width, height);
    let blob = null;
    if (asPng) {
      blob = await canvas.convertToBlob({ type: 'image/png' });
      if (blob.size > PNG_BUDGET) {
        // Too large as PNG: the same pixels over white, as JPEG.
        const flat = new OffscreenCanvas(width, height);
        const flatContext = flat.getContext('2d');
        flatContext.fillStyle = '#fff';
        flatContext.fillRect(0, 0, width, height);
        flatContext.drawImage(canvas, 0, 0);
        blob = await flat.convertToBlob({ type: 'image/jpeg', quality: QUALITY });
        flat.width = 0;
      }
    } else {
      blob = await canvas.convertToBlob({ type: 'image/jpeg', quality: QUALITY });
    }
    for (let quality = 0.7; blob.size > MAX_BYTES && quality > 0.3; quality -= 0.2) {
      blob = await canvas.convertToBlob({ type: 'image/jpeg', quality });
    }
    canvas.width = 0;
    if (blob.size > MAX_BYTES) throw new Error('file_too_large');
    const clean = onlyPixels(new Uint8Array(await blob.arrayBuffer()), blob.type);
    return { blob: clean, type: clean.type, width, height };
  } finally {
    bitmap.close();
  }
}
