import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { loadCheckpoint } from '../../src/coordinator/checkpoint.js';
import { exportLayersModel, readExportedModel } from '../../src/coordinator/export.js';
import { isTrainerError } from '../../src/shared/errors.js';
import { getModel, initParams } from '../../src/worker/model.js';
import { tempDir } from '../helpers.js';

test('a damaged model.json or weights.bin is E_MODEL naming what is wrong (it was E_INTERNAL "Cannot read properties of null", or blamed model.json for a short weights.bin)', async () => {
  const dir = await tempDir();
  const model = getModel('net');
  await exportLayersModel(dir, model, initParams(model, 1), { normalization: { mean: [0, 0, 0], std: [1, 1, 1] }, classNames: ['a'] });
  const json = await readFile(join(dir, 'model.json'));
  assert.equal((await readExportedModel(dir)).params.length, model.size);

  await truncate(join(dir, 'weights.bin'), 1000);
  await assert.rejects(readExportedModel(dir), (e) => isTrainerError(e, 'E_MODEL') && /weights\.bin has 1000 bytes where model\.json describes 73416: damaged/.test(e.message));

  for (const text of ['null', '7', '{"userDefinedMetadata": {"trainer": null}}']) {
    await writeFile(join(dir, 'model.json'), text);
    await assert.rejects(readExportedModel(dir), (e) => isTrainerError(e, 'E_MODEL') && /model\.json was not written by trainer/.test(e.message), text);
  }
  await writeFile(join(dir, 'model.json'), json);
});

test('a checkpoint whose (checksummed) header is JSON but not an object is E_CHECKPOINT "corrupt header", not E_INTERNAL', async () => {
  const dir = await tempDir();
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'state.ckpt');
  for (const header of ['null', '3', '"x"']) {
    const head = Buffer.alloc(12);
    head.write('TRAINCK2', 0, 'latin1');
    head.writeUInt32LE(header.length, 8);
    const body = Buffer.concat([head, Buffer.from(header)]);
    await writeFile(file, Buffer.concat([body, createHash('sha256').update(body).digest()]));
    await assert.rejects(loadCheckpoint(file), (e) => isTrainerError(e, 'E_CHECKPOINT') && /corrupt header/.test(e.message), header);
  }
});
