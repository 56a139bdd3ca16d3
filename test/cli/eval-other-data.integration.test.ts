import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { smallConfigFile, trainer } from './cli-helpers.js';

test("eval says in one line when the images at the run's data path are not those it trained on (files replaced since), and still evaluates", async () => {
  const dir = await tempDir();
  assert.equal(trainer(['train', '-c', await smallConfigFile(dir, 'changed', 1)]).code, 0);
  const run = join(dir, 'runs', 'changed');
  const same = trainer(['eval', run]);
  assert.equal(same.code, 0, same.stderr);
  assert.equal(same.stderr, 'backend: wasm\n');

  // Another image in the first training batch: its first record's pixels, not its label.
  const [set] = await readdir(join(dir, 'data'));
  const batches = join(dir, 'data', set as string, 'cifar-10-batches-bin');
  const file = join(batches, 'data_batch_1.bin');
  const bytes = await readFile(file);
  for (let i = 1; i < 100; i++) bytes[i] = 255 - (bytes[i] as number);
  await writeFile(file, bytes);
  const other = trainer(['eval', run]);
  const lit = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  assert.equal(other.code, 0, other.stderr);
  assert.match(
    other.stderr,
    new RegExp(`^backend: wasm\\nnote: the data read from ${lit(batches)} \\(320 training and 64 validation images, sha256 [0-9a-f]{12}…\\) is not the data ${lit(run)} trained on \\(320 training and 64 validation images, sha256 [0-9a-f]{12}…\\)\\n$`),
  );
  assert.match(other.stdout, /^Accuracy train: [\d.]+\nAccuracy val: [\d.]+\n$/);
});
