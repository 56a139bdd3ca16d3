import assert from 'node:assert/strict';
import test from 'node:test';
import jpeg from 'jpeg-js';
import { isTrainerError } from '../../src/shared/errors.js';
import { decodeImage } from '../../src/predict/image.js';

/** A 64×48 JPEG of a pattern that does not compress away: its scan fills most of the file. */
function photo(): Buffer {
  const data = Buffer.alloc(64 * 48 * 4);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 251;
  return jpeg.encode({ width: 64, height: 48, data }, 90).data;
}

test('a JPEG cut short, even by only its end marker, is E_DATA saying the file is truncated (it was jpeg-js\'s "marker was not found")', () => {
  const file = photo();
  assert.equal(decodeImage(file, 'whole.jpg').width, 64);
  const says = (bytes: Uint8Array, name: string, message: string) =>
    assert.throws(() => decodeImage(bytes, name), (e) => isTrainerError(e, 'E_DATA') && e.message === message);
  const truncated = (name: string, why: string) => `cannot decode ${name} as JPEG: the file is truncated: it does not end with a JPEG's end marker, FF D9 (jpeg-js: ${why})`;
  says(file.subarray(0, file.length - 2), 'no-end.jpg', truncated('no-end.jpg', 'marker was not found'));
  says(file.subarray(0, file.length >> 1), 'half.jpg', truncated('half.jpg', 'marker was not found'));
  says(file.subarray(0, file.length - 1), 'ff.jpg', truncated('ff.jpg', 'unknown JPEG marker 0'));
  // Whole, but with bytes of its scan overwritten by a marker's: damaged, not truncated.
  const damaged = Buffer.from(file);
  damaged.fill(0xff, 1000, 1400);
  says(damaged, 'damaged.jpg', 'cannot decode damaged.jpg as JPEG: the file is damaged (jpeg-js: unexpected marker: ffff)');
});
