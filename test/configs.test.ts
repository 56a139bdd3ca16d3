import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import test from 'node:test';
import { resolveConfig } from '../src/shared/config-file.js';

const CONFIGS = fileURLToPath(new URL('../../configs/', import.meta.url));

test('every shipped config validates', async () => {
  const files = (await readdir(CONFIGS)).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length >= 3);
  for (const f of files) await resolveConfig(`${CONFIGS}${f}`);
});

test("cifar3.yaml is the article's set-up", async () => {
  const c = await resolveConfig(`${CONFIGS}cifar3.yaml`);
  assert.deepEqual(c.data.classes, ['airplane', 'automobile', 'ship']);
  assert.equal(c.model.name, 'net');
  assert.equal(c.train.batchSize, 64);
  assert.equal(c.train.lr, 0.01);
  assert.equal(c.train.momentum, 0);
  assert.equal(c.train.epochs, 100);
  assert.equal(c.data.normalize, 'article');
});
