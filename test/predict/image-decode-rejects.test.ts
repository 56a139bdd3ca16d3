import assert from 'node:assert/strict';
import test from 'node:test';
import { PNG } from 'pngjs';
import { isTrainerError } from '../../src/shared/errors.js';
import { decodeImage } from '../../src/predict/image.js';

test('decoding rejects non-images, truncated files and images over maxImagePixels with E_DATA naming the file', () => {
  const png = new PNG({ width: 40, height: 30 });
  png.data.fill(128);
  const bytes = PNG.sync.write(png);
  assert.equal(decodeImage(bytes, 'ok.png').width, 40);
  const rejects = (b: Uint8Array, name: string, re: RegExp, max?: number) =>
    assert.throws(() => decodeImage(b, name, max), (e) => isTrainerError(e, 'E_DATA') && e.message.includes(name) && re.test(e.message));
  rejects(Buffer.from('run: {name: x}\n'), 'c.yaml', /not a PNG or JPEG/);
  rejects(bytes.subarray(0, bytes.length - 30), 'cut.png', /cannot decode cut\.png as PNG/);
  rejects(bytes, 'big.png', /40×30 pixels, more than the limit of 1000 pixels$/, 1000);
  // Of no pixels: pngjs said "bad png - invalid inflate data response".
  const empty = Buffer.from(bytes);
  empty.writeUInt32BE(0, 16);
  empty.writeUInt32BE(0, 20);
  rejects(empty, 'empty.png', /^empty\.png is 0×0 pixels: an image of no pixels has nothing to classify$/);
  rejects(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 1, 2, 3]), 'bad.jpg', /cannot decode bad\.jpg as JPEG/);
});
