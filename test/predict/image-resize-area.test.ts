import assert from 'node:assert/strict';
import test from 'node:test';
import { PLANE_BYTES } from '../../src/data/cifar-format.js';
import { toCifarRecord, type RgbaImage } from '../../src/predict/image.js';

function image(width: number, height: number, pixel: (x: number, y: number) => [number, number, number, number]): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(pixel(x, y), (y * width + x) * 4);
  return { width, height, data };
}
const at = (rec: Uint8Array, c: number, x: number, y: number) => rec[c * PLANE_BYTES + y * 32 + x];

test('resizing to 32×32 averages areas: identity at 32×32, exact for whole multiples, uniform stays uniform, alpha over white', () => {
  const src = (x: number, y: number): [number, number, number, number] => [(x * 7 + y) % 256, (y * 5) % 256, (x * y) % 256, 255];
  const same = toCifarRecord(image(32, 32, src));
  const big = toCifarRecord(image(96, 64, (x, y) => src(Math.floor(x / 3), Math.floor(y / 2))));
  assert.deepEqual(big, same, 'each 3×2 block of a 96×64 image becomes its pixel');
  for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) for (let c = 0; c < 3; c++) assert.equal(at(same, c, x, y), src(x, y)[c]);

  // 2×2 blocks of 0 and 255 average to 127.5 -> 128
  const checker = toCifarRecord(image(64, 64, (x, y) => ((x + y) % 2 ? [255, 255, 255, 255] : [0, 0, 0, 255])));
  assert.ok(checker.every((v) => v === 128));
  const odd = toCifarRecord(image(50, 37, () => [10, 20, 30, 255]));
  assert.ok([0, 1, 2].every((c) => at(odd, c, 31, 31) === [10, 20, 30][c] && at(odd, c, 0, 0) === [10, 20, 30][c]));
  const small = toCifarRecord(image(3, 2, (x) => [x * 100, 0, 0, 255]));
  assert.equal(at(small, 0, 0, 0), 0);
  assert.equal(at(small, 0, 31, 0), 200);
  const clear = toCifarRecord(image(8, 8, () => [0, 0, 0, 0]));
  assert.ok(clear.every((v) => v === 255), 'transparent pixels are white');
});
