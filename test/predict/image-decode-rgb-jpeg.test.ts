import assert from 'node:assert/strict';
import test from 'node:test';
import jpeg from 'jpeg-js';
import { decodeImage } from '../../src/predict/image.js';

/** Flat colours in 8×8 blocks (so JPEG keeps them), with green and blue near 128 so the trick below stays in range. */
const COLOURS = [[200, 110, 150], [60, 140, 100], [120, 100, 120], [180, 150, 110]] as const;
const SIDE = 16;
const colourAt = (x: number, y: number) => COLOURS[(y < 8 ? 0 : 2) + (x < 8 ? 0 : 1)]!;

/** JFIF's YCbCr to RGB: what jpeg-js's encoder turns back into these three numbers. */
const fromYcc = (y: number, cb: number, cr: number) => [y + 1.402 * (cr - 128), y - 0.344136 * (cb - 128) - 0.714136 * (cr - 128), y + 1.772 * (cb - 128)];

function segment(marker: number, body: number[]): Buffer {
  return Buffer.from([0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body]);
}

/** Version 100, flags 0, transform 0: no colour transform. */
const ADOBE_RGB = segment(0xee, [...Buffer.from('Adobe'), 0, 100, 0, 0, 0, 0, 0]);

/**
 * A JPEG whose three components are R, G and B, as `cjpeg -rgb` writes: jpeg-js's encoder only
 * writes YCbCr, so it is given pixels whose YCbCr are the wanted RGB, and its JFIF APP0 (which
 * would say YCbCr) is swapped for an Adobe APP14 of transform 0 (`adobe` false: the file keeps its JFIF).
 */
function rgbJpeg(adobe: boolean): Buffer {
  const data = new Uint8Array(SIDE * SIDE * 4);
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const [r, g, b] = colourAt(x, y);
      data.set([...fromYcc(r, g, b).map(Math.round), 255], (y * SIDE + x) * 4);
    }
  }
  const file = jpeg.encode({ width: SIDE, height: SIDE, data }, 100).data;
  assert.deepEqual([...file.subarray(2, 4), ...file.subarray(6, 11)], [0xff, 0xe0, ...Buffer.from('JFIF\0')], 'jpeg-js writes JFIF APP0 first');
  const afterJfif = 4 + file.readUInt16BE(4);
  return Buffer.concat(adobe ? [file.subarray(0, 2), ADOBE_RGB, file.subarray(afterJfif)] : [file]);
}

test('an RGB JPEG (Adobe APP14 transform 0) decodes to its own colours (was: read as YCbCr, every colour wrong)', () => {
  const img = decodeImage(rgbJpeg(true), 'rgb.jpg');
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const got = [...img.data.subarray((y * SIDE + x) * 4, (y * SIDE + x) * 4 + 3)];
      // Within rounding: read as YCbCr, the first colour comes out as 230,190,168.
      assert.ok(got.every((v, c) => Math.abs(v - colourAt(x, y)[c]!) <= 3), `pixel ${x},${y}: ${got} for ${colourAt(x, y)}`);
    }
  }
});

/** rgbJpeg without its JFIF and with its components named 'R', 'G', 'B' (ids 1, 2, 3 in jpeg-js), in the frame and the scan. */
function namedRgbJpeg(withAdobe: number | null): Buffer {
  const withJfif = rgbJpeg(false);
  const afterJfif = 4 + withJfif.readUInt16BE(4);
  const adobe = withAdobe === null ? [] : [segment(0xee, [...Buffer.from('Adobe'), 0, 100, 0, 0, 0, 0, withAdobe])];
  const file = Buffer.concat([withJfif.subarray(0, 2), ...adobe, withJfif.subarray(afterJfif)]);
  const sof = file.indexOf(Buffer.from([0xff, 0xc0]));
  const sos = file.indexOf(Buffer.from([0xff, 0xda]));
  assert.ok(sof > 0 && sos > sof && file[sof + 9] === 3 && file[sos + 4] === 3, 'one 3-component frame and scan');
  for (let c = 0; c < 3; c++) {
    assert.equal(file[sof + 10 + 3 * c], c + 1);
    file[sof + 10 + 3 * c] = 'RGB'.charCodeAt(c);
    assert.equal(file[sos + 5 + 2 * c], c + 1);
    file[sos + 5 + 2 * c] = 'RGB'.charCodeAt(c);
  }
  return file;
}

test("a JPEG without JFIF or Adobe segments whose components are named 'R', 'G', 'B' is RGB (was: read as YCbCr)", () => {
  const img = decodeImage(namedRgbJpeg(null), 'named.jpg');
  assert.deepEqual(img.data, decodeImage(rgbJpeg(true), 'rgb.jpg').data);
  // An Adobe segment decides over the names, as in libjpeg: transform 1 is YCbCr.
  const ycc = decodeImage(namedRgbJpeg(1), 'named-ycc.jpg');
  assert.notDeepEqual(ycc.data, img.data);
  const first = [...ycc.data.subarray(0, 3)];
  assert.ok(first.every((v, c) => Math.abs(v - [230, 190, 168][c]!) <= 3), `read as YCbCr: ${first}`);
});

test('a JPEG with a JFIF APP0 is YCbCr even beside an Adobe APP14 of transform 0 (as libjpeg reads it)', () => {
  const withJfif = rgbJpeg(false);
  const afterJfif = 4 + withJfif.readUInt16BE(4);
  const both = Buffer.concat([withJfif.subarray(0, afterJfif), ADOBE_RGB, withJfif.subarray(afterJfif)]);
  assert.deepEqual(decodeImage(both, 'both.jpg').data, decodeImage(withJfif, 'jfif.jpg').data);
});
