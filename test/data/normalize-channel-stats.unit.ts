import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTrainerError } from '../../src/shared/errors.js';
import { IMAGE_BYTES, PLANE_BYTES } from '../../src/data/cifar-format.js';
import { channelStats } from '../../src/data/normalize.js';

test('channelStats gives mean and population std of pixel/255 per channel', () => {
  const images = new Uint8Array(2 * IMAGE_BYTES);
  for (let i = 0; i < 2; i++) {
    for (let p = 0; p < PLANE_BYTES; p++) {
      images[i * IMAGE_BYTES + p] = i === 0 ? 0 : 255; // red: half 0, half 255
      images[i * IMAGE_BYTES + PLANE_BYTES + p] = 51; // green: constant 0.2
      images[i * IMAGE_BYTES + 2 * PLANE_BYTES + p] = (p % 4) * 85; // blue: 0, 85, 170, 255
    }
  }
  const stats = channelStats({ images, labels: new Uint8Array(2), count: 2 });

  assert.deepEqual(stats.mean, [0.5, 0.2, 0.5]);
  assert.equal(stats.std[0], 0.5);
  assert.equal(stats.std[1], 0);
  assert.ok(Math.abs(stats.std[2] - Math.sqrt((127.5 ** 2 + 42.5 ** 2) / 2) / 255) < 1e-15);
});

test('channelStats of an empty dataset is E_DATA', () => {
  assert.throws(
    () => channelStats({ images: new Uint8Array(0), labels: new Uint8Array(0), count: 0 }),
    (err) => isTrainerError(err, 'E_DATA'),
  );
});
