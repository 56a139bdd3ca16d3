import assert from 'node:assert/strict';
import test from 'node:test';
import jpeg from 'jpeg-js';
import { isTrainerError } from '../../src/shared/errors.js';
import { decodeImage } from '../../src/predict/image.js';

test('a JPEG at the pixel limit decodes; jpeg-js memory accounting no longer refuses it below the limit (was: above about 18 of 40 megapixels)', () => {
  // 6 megapixels against a limit of 6: with the old budget (8 bytes a pixel + 64 MB) jpeg-js refused it, "maxMemoryUsageInMB limit exceeded".
  const width = 3000;
  const height = 2000;
  // One grey: jpeg-js's accounting goes by the size alone, and a flat image encodes and decodes in a
  // fraction of the time (a pattern took 30 s of the suite on 2 busy cores).
  const data = new Uint8Array(width * height * 4).fill(128);
  const file = jpeg.encode({ width, height, data }, 90).data;
  const img = decodeImage(file, 'photo.jpg', width * height);
  assert.deepEqual([img.width, img.height, img.data.length], [width, height, width * height * 4]);
  // One pixel more than the limit is still refused, by its size.
  assert.throws(() => decodeImage(file, 'photo.jpg', width * height - 1), (e) => isTrainerError(e, 'E_DATA') && /photo\.jpg/.test(e.message));
});
