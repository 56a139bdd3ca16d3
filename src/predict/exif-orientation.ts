/**
 * EXIF orientation (tag 0x0112): phones store the sensor's pixels as they came and record in the
 * Exif block how to turn them upright. jpeg-js ignores the tag, so a portrait photo was classified
 * lying on its side. Viewers and browsers apply it; so does prediction.
 *
 * The Exif block comes from the file: every offset in it is checked against its length, and a block
 * that is damaged, truncated or says something out of range counts as no orientation (1), never as
 * a failed decode: the pixels are still good.
 */
import type { RgbaImage } from './image.js';

/** 1 is upright; 2–8 as in the EXIF specification's table (CIPA DC-008, tag Orientation). */
export type Orientation = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;

const ORIENTATION_TAG = 0x0112;
const TIFF_SHORT = 3;
const TIFF_MAGIC = 42;
/** An IFD entry: tag, type, count (2 + 2 + 4 bytes), then 4 bytes of value or offset. */
const IFD_ENTRY_BYTES = 12;

/**
 * The orientation in IFD0 of a TIFF structure (an APP1 Exif segment after its "Exif\0\0"), either
 * byte order; 1 when there is none or it cannot be read.
 */
export function exifOrientation(tiff: Uint8Array): Orientation {
  if (tiff.length < 8) return 1;
  const little = tiff[0] === 0x49 && tiff[1] === 0x49; // "II", Intel
  const big = tiff[0] === 0x4d && tiff[1] === 0x4d; // "MM", Motorola
  if (!little && !big) return 1;
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  if (view.getUint16(2, little) !== TIFF_MAGIC) return 1;
  const ifd = view.getUint32(4, little);
  if (ifd < 8 || ifd + 2 > tiff.length) return 1;
  const entries = view.getUint16(ifd, little);
  for (let i = 0; i < entries; i++) {
    const entry = ifd + 2 + i * IFD_ENTRY_BYTES;
    if (entry + IFD_ENTRY_BYTES > tiff.length) return 1;
    if (view.getUint16(entry, little) !== ORIENTATION_TAG) continue;
    if (view.getUint16(entry + 2, little) !== TIFF_SHORT || view.getUint32(entry + 4, little) !== 1) return 1;
    // A single SHORT sits in the first two bytes of the value field, in the file's byte order.
    const value = view.getUint16(entry + 8, little);
    return value >= 1 && value <= 8 ? (value as Orientation) : 1;
  }
  return 1;
}

/**
 * How to read each orientation's stored pixels upright: for an output pixel (x, y), the stored one
 * is (y, x) when `transpose` (5–8: width and height swap), else (x, y), then mirrored across the
 * stored width (`mirrorX`) and height (`mirrorY`). The names are the spec's "0th row, 0th column".
 */
const LAYOUTS: Record<Orientation, { transpose: boolean; mirrorX: boolean; mirrorY: boolean }> = {
  1: { transpose: false, mirrorX: false, mirrorY: false }, // top, left
  2: { transpose: false, mirrorX: true, mirrorY: false }, // top, right: mirrored
  3: { transpose: false, mirrorX: true, mirrorY: true }, // bottom, right: turned 180°
  4: { transpose: false, mirrorX: false, mirrorY: true }, // bottom, left: flipped
  5: { transpose: true, mirrorX: false, mirrorY: false }, // left, top: transposed
  6: { transpose: true, mirrorX: false, mirrorY: true }, // right, top: turn 90° clockwise
  7: { transpose: true, mirrorX: true, mirrorY: true }, // right, bottom: transverse
  8: { transpose: true, mirrorX: true, mirrorY: false }, // left, bottom: turn 90° counter-clockwise
};

/** `img` turned upright, in a new buffer (width × height × 4 bytes more); `img` itself when already upright. */
export function applyOrientation(img: RgbaImage, orientation: Orientation): RgbaImage {
  if (orientation === 1) return img;
  const { width: w, height: h } = img;
  const { transpose, mirrorX, mirrorY } = LAYOUTS[orientation];
  const pixels = w * h;
  // Whole pixels as 32-bit words: byte order does not matter when each word is only copied.
  const src = img.data.byteOffset % 4 === 0
    ? new Uint32Array(img.data.buffer, img.data.byteOffset, pixels)
    : new Uint32Array(img.data.slice(0, pixels * 4).buffer);
  const out = new Uint32Array(pixels);
  const outW = transpose ? h : w;
  const outH = transpose ? w : h;
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      let sx = transpose ? y : x;
      let sy = transpose ? x : y;
      if (mirrorX) sx = w - 1 - sx;
      if (mirrorY) sy = h - 1 - sy;
      out[y * outW + x] = src[sy * w + sx] as number;
    }
  }
  return { width: outW, height: outH, data: new Uint8Array(out.buffer) };
}
