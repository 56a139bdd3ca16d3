/**
 * Image files into CIFAR records: decode a PNG or JPEG of any size, turn it
 * upright by its EXIF orientation, composite any transparency over white, and resize to 32×32 by area averaging (each
 * output pixel is the mean of the source area it covers, with fractional
 * weights at the edges), stretching to a square as the article's Resize((32,
 * 32)) does. The result is a CIFAR record (red, green, blue planes of bytes),
 * so prediction normalises it with the very code training used.
 */
import { inflateSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { IMAGE_BYTES, IMAGE_SIDE, PLANE_BYTES } from '../data/cifar-format.js';
import { TrainerError } from '../shared/errors.js';
import { applyOrientation, exifOrientation, type Orientation } from './exif-orientation.js';
import { readJpegHeader } from './jpeg-header.js';

/** Largest image accepted, in pixels (default 40 megapixels: 160 MB of RGBA; a JPEG needs up to 1.2 GB while decoding). */
export const DEFAULT_MAX_IMAGE_PIXELS = 40_000_000;

/**
 * Widest and tallest image accepted, in pixels: the most a JPEG's header can say (16 bits a side),
 * which no camera's photo reaches. A PNG's header allows 32 bits a side, and pngjs spends ~240 bytes
 * of heap a row: a 1×20,000,000 PNG, under the pixel limit, took 62 s and 15 GB to decode (V8 died of
 * out-of-memory where less memory was free).
 */
export const MAX_IMAGE_SIDE_PX = 65_535;

/**
 * What jpeg-js counts against its memory limit per pixel, at most: 4 components (CMYK) of 64-entry
 * Int32 blocks (16 bytes), their sample lines (4), the interleaved data (4) and the RGBA result (4),
 * plus MCU padding. With 8 (as before), JPEGs above about 18 megapixels were refused.
 */
const JPEG_BYTES_PER_PIXEL = 30;

export interface RgbaImage {
  width: number;
  height: number;
  /** width × height × 4 bytes, row by row. */
  data: Uint8Array;
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** The bytes imageKind reads. */
export const IMAGE_MAGIC_BYTES = PNG_MAGIC.length;

export function imageKind(bytes: Uint8Array): 'png' | 'jpeg' | null {
  if (PNG_MAGIC.every((b, i) => bytes[i] === b)) return 'png';
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return null;
}

/** Decodes by content, not by file name; `name` is for messages. */
export function decodeImage(bytes: Uint8Array, name: string, maxImagePixels = DEFAULT_MAX_IMAGE_PIXELS): RgbaImage {
  const kind = imageKind(bytes);
  if (kind === null) throw new TrainerError('E_DATA', `${name} is not a PNG or JPEG file`);
  const tooLarge = (w: number, h: number) => {
    // A 0×0 PNG was "cannot decode NAME as PNG: bad png - invalid inflate data response" (pngjs's words).
    if (w === 0 || h === 0) throw new TrainerError('E_DATA', `${name} is ${w}×${h} pixels: an image of no pixels has nothing to classify`);
    if (w > MAX_IMAGE_SIDE_PX || h > MAX_IMAGE_SIDE_PX) {
      throw new TrainerError('E_DATA', `${name} is ${w}×${h} pixels, more than the limit of ${MAX_IMAGE_SIDE_PX} on a side`);
    }
    if (w * h > maxImagePixels) {
      throw new TrainerError('E_DATA', `${name} is ${w}×${h} pixels, more than the limit of ${maxImagePixels} pixels`);
    }
  };
  try {
    if (kind === 'png') {
      // IHDR is the first chunk: width and height at bytes 16 and 20. Checked before inflating.
      if (bytes.length >= 24) {
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        tooLarge(view.getUint32(16), view.getUint32(20));
      }
      checkPngData(bytes, name);
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      const data = new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength);
      return applyOrientation({ width: png.width, height: png.height, data }, pngOrientation(bytes));
    }
    const header = readJpegHeader(bytes);
    const img = jpeg.decode(bytes, {
      // jpeg-js turns every 3-component file from YCbCr, Adobe transform 0 or not, unless told
      // otherwise. false is already its choice for 4 components under transform 0 (CMYK), and
      // undefined leaves the rest to it: YCbCr, YCCK (transform 2), greyscale.
      colorTransform: header.rgb ? false : undefined,
      useTArray: true,
      formatAsRGBA: true,
      maxResolutionInMP: maxImagePixels / 1e6,
      maxMemoryUsageInMB: Math.ceil((maxImagePixels * JPEG_BYTES_PER_PIXEL) / 1e6) + 64,
    });
    tooLarge(img.width, img.height);
    return applyOrientation({ width: img.width, height: img.height, data: img.data }, header.orientation);
  } catch (err) {
    if (err instanceof TrainerError) throw err;
    const why = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
    throw new TrainerError('E_DATA', `cannot decode ${name} as ${kind.toUpperCase()}: ${kind === 'jpeg' ? jpegFault(bytes, why) : why}`);
  }
}

/** jpeg-js's words for a JPEG it can read but will not: a limit of ours, or a kind it does not decode. */
const JPEG_REFUSAL = /limit exceeded|supported|allocate/i;
const EOI_MARKER = [0xff, 0xd9];

/**
 * Why jpeg-js failed on `bytes` (`why`, its message), said as a user reads it: a JPEG cut short, even
 * by only its 2-byte end marker, was "marker was not found" (or "unknown JPEG marker ff"), which
 * did not say the file was at fault.
 */
function jpegFault(bytes: Uint8Array, why: string): string {
  if (JPEG_REFUSAL.test(why)) return why;
  const ended = EOI_MARKER.every((b, i) => bytes[bytes.length - EOI_MARKER.length + i] === b);
  return ended ? `the file is damaged (jpeg-js: ${why})` : `the file is truncated: it does not end with a JPEG's end marker, FF D9 (jpeg-js: ${why})`;
}

/** Channels per pixel of each PNG colour type (grey, RGB, palette, grey + alpha, RGBA). */
const PNG_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
/** Adam7's passes: first column and row, then the step between columns and between rows. */
const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]] as const;

/**
 * E_DATA unless a PNG's image data inflates to every row its header promises. pngjs's sync reader
 * does not check: a PNG with short image data (a file cut off inside it, no IDAT chunk) was decoded
 * from a buffer it never filled, and classified from whatever memory held (it changed with the
 * other files on the command line). Errors it reports itself (bad header, CRC) are left to it.
 */
function checkPngData(bytes: Uint8Array, name: string): void {
  const idat: Uint8Array[] = [];
  let header: { width: number; height: number; depth: number; channels: number; interlaced: boolean } | null = null;
  for (const { type, body } of pngChunks(bytes)) {
    if (type === 'IHDR' && body.length >= 13) {
      const channels = PNG_CHANNELS[body[9] as number];
      if (channels === undefined) return;
      const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
      header = { width: view.getUint32(0), height: view.getUint32(4), depth: body[8] as number, channels, interlaced: body[12] === 1 };
    } else if (type === 'IDAT') idat.push(body);
  }
  if (header === null) return;
  const h = header;
  const rowBytes = (w: number) => Math.ceil((w * h.channels * h.depth) / 8) + 1; // a filter byte a row
  const rows = (y0: number, dy: number) => (h.height > y0 ? Math.ceil((h.height - y0) / dy) : 0);
  const cols = (x0: number, dx: number) => (h.width > x0 ? Math.ceil((h.width - x0) / dx) : 0);
  const expected = h.interlaced
    ? ADAM7.reduce((sum, [x0, y0, dx, dy]) => sum + (cols(x0, dx) > 0 ? rows(y0, dy) * rowBytes(cols(x0, dx)) : 0), 0)
    : h.height * rowBytes(h.width);
  const damaged = (why: string) => new TrainerError('E_DATA', `cannot decode ${name} as PNG: ${why} (a damaged or truncated file)`);
  if (idat.length === 0) throw damaged('it holds no image data (IDAT chunk)');
  let got: number;
  try {
    got = inflateSync(Buffer.concat(idat), { maxOutputLength: Math.max(expected, 1) }).length;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') return; // more than promised: pngjs reads what it needs
    throw damaged(code === 'Z_BUF_ERROR' ? 'its image data is cut off' : `its image data does not inflate: ${(err as Error).message}`);
  }
  if (got < expected) {
    const where = h.interlaced ? `${got} of ${expected} bytes` : `${Math.floor(got / rowBytes(h.width))} of ${h.height} rows`;
    throw damaged(`its image data ends after ${where}`);
  }
}

/** A PNG's chunks up to IEND, each body cut at the file's end (CRCs are pngjs's to check). */
function* pngChunks(bytes: Uint8Array): Generator<{ type: string; body: Uint8Array }> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = PNG_MAGIC.length; at + 8 <= bytes.length; ) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (type === 'IEND') return;
    yield { type, body: bytes.subarray(at + 8, Math.min(at + 8 + length, bytes.length)) };
    at += 12 + length;
  }
}

/**
 * The orientation in a PNG's eXIf chunk (PNG's Exif block since 2017: the TIFF structure with no
 * "Exif\0\0" before it), which browsers apply as they do a JPEG's; 1 without one.
 */
function pngOrientation(bytes: Uint8Array): Orientation {
  for (const { type, body } of pngChunks(bytes)) if (type === 'eXIf') return exifOrientation(body);
  return 1;
}

/** For each output index, the source indices it covers and their weights (summing to 1). */
function areaWeights(src: number, dst: number): { index: Int32Array; weight: Float64Array; start: Int32Array } {
  const scale = src / dst;
  const index: number[] = [];
  const weight: number[] = [];
  const start = new Int32Array(dst + 1);
  for (let o = 0; o < dst; o++) {
    start[o] = index.length;
    const lo = o * scale;
    const hi = (o + 1) * scale;
    for (let i = Math.floor(lo); i < Math.min(src, Math.ceil(hi)); i++) {
      const w = Math.min(hi, i + 1) - Math.max(lo, i);
      if (w > 0) {
        index.push(i);
        weight.push(w / scale);
      }
    }
  }
  start[dst] = index.length;
  return { index: Int32Array.from(index), weight: Float64Array.from(weight), start };
}

/**
 * A CIFAR record (3,072 bytes: red, green, blue planes, 32×32 each) of `img`,
 * composited over white and area-averaged.
 */
export function toCifarRecord(img: RgbaImage): Uint8Array {
  const { width: w, height: h, data } = img;
  if (w < 1 || h < 1 || data.length < w * h * 4) throw new TrainerError('E_DATA', `image of ${w}×${h} pixels has no pixel data`);
  const S = IMAGE_SIDE;
  // Rows first: for every source row, 32 columns per channel (composited over white).
  const cols = areaWeights(w, S);
  const rows = areaWeights(h, S);
  const mid = new Float64Array(h * S * 3);
  for (let y = 0; y < h; y++) {
    for (let ox = 0; ox < S; ox++) {
      let r = 0, g = 0, b = 0;
      for (let k = cols.start[ox] as number; k < (cols.start[ox + 1] as number); k++) {
        const p = (y * w + (cols.index[k] as number)) * 4;
        const a = (data[p + 3] as number) / 255;
        const wt = cols.weight[k] as number;
        r += wt * ((data[p] as number) * a + 255 * (1 - a));
        g += wt * ((data[p + 1] as number) * a + 255 * (1 - a));
        b += wt * ((data[p + 2] as number) * a + 255 * (1 - a));
      }
      const m = (y * S + ox) * 3;
      mid[m] = r;
      mid[m + 1] = g;
      mid[m + 2] = b;
    }
  }
  const out = new Uint8Array(IMAGE_BYTES);
  for (let oy = 0; oy < S; oy++) {
    for (let ox = 0; ox < S; ox++) {
      const acc = [0, 0, 0];
      for (let k = rows.start[oy] as number; k < (rows.start[oy + 1] as number); k++) {
        const m = ((rows.index[k] as number) * S + ox) * 3;
        const wt = rows.weight[k] as number;
        for (let c = 0; c < 3; c++) acc[c]! += wt * (mid[m + c] as number);
      }
      for (let c = 0; c < 3; c++) {
        out[c * PLANE_BYTES + oy * S + ox] = Math.max(0, Math.min(255, Math.round(acc[c] as number)));
      }
    }
  }
  return out;
}
