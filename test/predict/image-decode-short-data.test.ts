import assert from 'node:assert/strict';
import test from 'node:test';
import { isTrainerError } from '../../src/shared/errors.js';
import { decodeImage } from '../../src/predict/image.js';
import { png } from './png-bytes.js';

/** Rows of one filter byte (none) and the pixels, every byte of them `value`. */
const rows = (count: number, rowBytes: number, value = 200) => Buffer.concat(Array.from({ length: count }, () => Buffer.from([0, ...new Array(rowBytes).fill(value)])));

/** Adam7's pass sizes for a width × height RGB image: rows of each pass. */
function interlaced(width: number, height: number): Buffer {
  const passes = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];
  const out: Buffer[] = [];
  for (const [x0, y0, dx, dy] of passes as [number, number, number, number][]) {
    const w = Math.max(0, Math.ceil((width - x0) / dx));
    const h = Math.max(0, Math.ceil((height - y0) / dy));
    if (w > 0) out.push(rows(h, 3 * w, 90));
  }
  return Buffer.concat(out);
}

test('a PNG whose image data is short, cut off or missing is E_DATA: it was classified from memory pngjs never filled', () => {
  const rejects = (b: Buffer, name: string, why: RegExp) =>
    assert.throws(() => decodeImage(b, name), (e) => isTrainerError(e, 'E_DATA') && e.message.startsWith(`cannot decode ${name} as PNG: `) && why.test(e.message));
  rejects(png(40, 30, rows(15, 120)), 'half.png', /its image data ends after 15 of 30 rows/);
  rejects(png(40, 30, null), 'none.png', /it holds no image data \(IDAT chunk\)/);
  rejects(png(40, 30, Buffer.alloc(0)), 'empty.png', /its image data ends after 0 of 30 rows/);
  // The deflate stream itself cut in half (random pixels: it does not compress away).
  const noise = Buffer.from(Array.from({ length: 30 * 121 }, (_, i) => (i % 121 === 0 ? 0 : (i * 7919) % 251)));
  rejects(png(40, 30, noise, { idat: (z) => z.subarray(0, z.length >> 1) }), 'cut.png', /its image data is cut off/);
  const full = interlaced(13, 7);
  rejects(png(13, 7, full.subarray(0, full.length - 20), { interlace: 1 }), 'adam7.png', new RegExp(`its image data ends after ${full.length - 20} of ${full.length} bytes`));
});

test('complete PNGs of every layout still decode: interlaced, 16-bit, 1-bit grey, palette-free grey + alpha', () => {
  const a = decodeImage(png(13, 7, interlaced(13, 7), { interlace: 1 }), 'adam7.png');
  assert.deepEqual([a.width, a.height, ...a.data.subarray(0, 4)], [13, 7, 90, 90, 90, 255]);
  const wide = decodeImage(png(5, 3, rows(3, 10, 0x12), { colorType: 0, depth: 16 }), 'grey16.png');
  assert.deepEqual([...wide.data.subarray(0, 4)], [0x12, 0x12, 0x12, 255]);
  const bits = decodeImage(png(9, 2, rows(2, 2, 0xff), { colorType: 0, depth: 1 }), 'grey1.png');
  assert.deepEqual([bits.width, ...bits.data.subarray(0, 4)], [9, 255, 255, 255, 255]);
  const ga = decodeImage(png(4, 4, rows(4, 8, 100), { colorType: 4 }), 'ga.png');
  assert.deepEqual([...ga.data.subarray(0, 4)], [100, 100, 100, 100]);
  const rgb = decodeImage(png(40, 30, rows(30, 120)), 'red.png');
  assert.equal(rgb.data.length, 40 * 30 * 4);
});
