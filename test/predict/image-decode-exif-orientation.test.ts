import assert from 'node:assert/strict';
import test from 'node:test';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { decodeImage, type RgbaImage } from '../../src/predict/image.js';

/** 48×32, four quadrants of different colours: every one of the 8 orientations moves them differently. */
function upright(): RgbaImage {
  const colours = [[220, 30, 30], [30, 200, 60], [40, 60, 220], [240, 220, 40]];
  const width = 48;
  const height = 32;
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set([...colours[(y < 16 ? 0 : 2) + (x < 24 ? 0 : 1)]!, 255], (y * width + x) * 4);
  }
  return { width, height, data };
}

function transformed(img: RgbaImage, pixel: (x: number, y: number) => [number, number], width: number, height: number): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [sx, sy] = pixel(x, y);
      data.set(img.data.subarray((sy * img.width + sx) * 4, (sy * img.width + sx + 1) * 4), (y * width + x) * 4);
    }
  }
  return { width, height, data };
}
const turnClockwise = (img: RgbaImage) => transformed(img, (x, y) => [y, img.height - 1 - x], img.height, img.width);
const mirror = (img: RgbaImage) => transformed(img, (x, y) => [img.width - 1 - x, y], img.width, img.height);

/**
 * What a camera stores for each orientation, written from the spec's words rather than from the
 * decoder's table: quarter turns clockwise, then a mirror. 6 ("0th row is the right side") is an
 * upright scene stored turned a quarter counter-clockwise (three clockwise), which a viewer turns
 * back clockwise.
 */
const STORED: Record<number, [turns: number, mirrored: boolean]> = {
  1: [0, false], 2: [0, true], 3: [2, false], 4: [2, true], 5: [1, true], 6: [3, false], 7: [3, true], 8: [1, false],
};
function stored(img: RgbaImage, orientation: number): RgbaImage {
  const [turns, mirrored] = STORED[orientation]!;
  let out = img;
  for (let i = 0; i < turns; i++) out = turnClockwise(out);
  return mirrored ? mirror(out) : out;
}

/** A TIFF structure whose IFD0 holds Make ("Tst") and then Orientation, in either byte order. */
function tiff(orientation: number, order: 'II' | 'MM'): Buffer {
  const little = order === 'II';
  const b = Buffer.alloc(8 + 2 + 2 * 12 + 4);
  b.write(order, 0, 'latin1');
  const u16 = (v: number, at: number) => (little ? b.writeUInt16LE(v, at) : b.writeUInt16BE(v, at));
  const u32 = (v: number, at: number) => (little ? b.writeUInt32LE(v, at) : b.writeUInt32BE(v, at));
  u16(42, 2);
  u32(8, 4);
  u16(2, 8);
  u16(0x010f, 10); // Make, ASCII, 4 bytes, inline
  u16(2, 12);
  u32(4, 14);
  b.write('Tst\0', 18, 'latin1');
  u16(0x0112, 22); // Orientation, SHORT, 1
  u16(3, 24);
  u32(1, 26);
  u16(orientation, 30);
  return b; // next IFD offset: 0
}

/** `file` (from jpeg-js's encoder) with an APP1 segment of `body` right after SOI. */
function withApp1(file: Uint8Array, body: Buffer): Buffer {
  const head = Buffer.from([0xff, 0xe1, 0, 0]);
  head.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([file.subarray(0, 2), head, body, file.subarray(2)]);
}
const exif = (tiffBytes: Buffer) => Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiffBytes]);

/** The largest difference of any channel of any pixel; images of different sizes differ by 255. */
function maxDifference(a: RgbaImage, b: RgbaImage): number {
  if (a.width !== b.width || a.height !== b.height) return 255;
  let max = 0;
  for (let i = 0; i < a.data.length; i++) max = Math.max(max, Math.abs((a.data[i] as number) - (b.data[i] as number)));
  return max;
}

test('a JPEG is turned upright by its EXIF orientation, all 8 of them, Intel and Motorola byte order (was: classified as stored, on its side)', () => {
  const want = upright();
  for (let orientation = 1; orientation <= 8; orientation++) {
    const plain = jpeg.encode(stored(want, orientation), 95).data; // about 0.1 s each: one for both byte orders
    for (const order of ['II', 'MM'] as const) {
      const file = withApp1(plain, exif(tiff(orientation, order)));
      const got = decodeImage(file, 'phone.jpg');
      assert.deepEqual([got.width, got.height], [want.width, want.height], `orientation ${orientation} ${order}`);
      // Flat 8×8-aligned blocks survive JPEG almost exactly: a quadrant in the wrong place differs by 150 or more.
      assert.ok(maxDifference(got, want) <= 8, `orientation ${orientation} ${order}: differs by ${maxDifference(got, want)}`);
    }
  }
});

test('a damaged or meaningless Exif block is ignored: the JPEG decodes as stored', () => {
  const plain = jpeg.encode(stored(upright(), 6), 95).data;
  const asStored = decodeImage(plain, 'plain.jpg');
  const good = tiff(6, 'MM');
  const patched = (at: number, bytes: number[]) => Buffer.concat([good.subarray(0, at), Buffer.from(bytes), good.subarray(at + bytes.length)]);
  const damaged: Record<string, Buffer> = {
    'no TIFF structure': exif(Buffer.alloc(0)),
    'a TIFF header cut short': exif(good.subarray(0, 6)),
    'an unknown byte order': exif(patched(0, [0x4d, 0x49])),
    'not TIFF (magic 43)': exif(patched(2, [0, 43])),
    'IFD0 past the end': exif(patched(4, [0xff, 0xff, 0xff, 0xf0])),
    'IFD0 inside the header': exif(patched(4, [0, 0, 0, 2])),
    'entries past the end': exif(patched(8, [0xff, 0xff]).subarray(0, 22)),
    'orientation 0': exif(patched(30, [0, 0])),
    'orientation 9': exif(patched(30, [0, 9])),
    'orientation as a LONG': exif(patched(24, [0, 4])),
    'orientation with 2 values': exif(patched(26, [0, 0, 0, 2])),
    'an APP1 of "Exif\\0" alone': Buffer.from('Exif\0', 'latin1'),
  };
  for (const [why, body] of Object.entries(damaged)) {
    const got = decodeImage(withApp1(plain, body), 'phone.jpg');
    assert.deepEqual([got.width, got.height, maxDifference(got, asStored)], [asStored.width, asStored.height, 0], why);
  }
});

/** CRC-32 as PNG chunks carry it (pngjs checks it). */
function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const byte of bytes) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** `img` as a PNG with an eXIf chunk of `tiffBytes` after its IHDR. */
function pngWithExif(img: RgbaImage, tiffBytes: Buffer): Buffer {
  const png = new PNG({ width: img.width, height: img.height });
  png.data = Buffer.from(img.data);
  const file = PNG.sync.write(png);
  const typed = Buffer.concat([Buffer.from('eXIf', 'latin1'), tiffBytes]);
  const chunk = Buffer.alloc(12 + tiffBytes.length);
  chunk.writeUInt32BE(tiffBytes.length, 0);
  typed.copy(chunk, 4);
  chunk.writeUInt32BE(crc32(typed), 8 + tiffBytes.length);
  const afterIhdr = 8 + 12 + file.readUInt32BE(8);
  return Buffer.concat([file.subarray(0, afterIhdr), chunk, file.subarray(afterIhdr)]);
}

test('a PNG is turned upright by the orientation in its eXIf chunk, as browsers show it (was: classified as stored)', () => {
  const want = upright();
  for (let orientation = 1; orientation <= 8; orientation++) {
    for (const order of ['II', 'MM'] as const) {
      const got = decodeImage(pngWithExif(stored(want, orientation), tiff(orientation, order)), 'screenshot.png');
      assert.deepEqual([got.width, got.height, maxDifference(got, want)], [want.width, want.height, 0], `orientation ${orientation} ${order}`);
    }
  }
  // A damaged block counts as upright, as in a JPEG.
  const asStored = stored(want, 6);
  const got = decodeImage(pngWithExif(asStored, tiff(6, 'MM').subarray(0, 6)), 'cut.png');
  assert.deepEqual([got.width, got.height, maxDifference(got, asStored)], [asStored.width, asStored.height, 0]);
});
