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
    return { blob, type: blob.type, width, height };
  } finally {
    bitmap.close();
  }
}
