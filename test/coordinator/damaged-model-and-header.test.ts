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
  // A damaged weightsManifest, or a shape in it, was E_INTERNAL ("flatMap is not a function", "reduce is not a function").
  const parsed = JSON.parse(json.toString('utf8'));
  const weights = parsed.weightsManifest[0].weights;
  for (const manifest of [{ x: 1 }, 'w', [null], [{ weights: 3 }], [{ weights: [{ ...weights[0], shape: 5 }] }], [{ weights: [{ ...weights[0], shape: [3, -1] }] }]]) {
    await writeFile(join(dir, 'model.json'), JSON.stringify({ ...parsed, weightsManifest: manifest }));
    await assert.rejects(
      readExportedModel(dir),
      (e) => isTrainerError(e, 'E_MODEL') && e.message.startsWith(`${dir}/model.json: weightsManifest must be a list of {weights: [{shape: [sizes]}]}, got `),
      JSON.stringify(manifest),
    );
  }
  await writeFile(join(dir, 'model.json'), json);
});

test('weights that are not finite, or model.json without usable class names or normalisation, are E_MODEL (predict printed "NaN %", eval an accuracy, or E_INTERNAL)', async () => {
  const dir = await tempDir();
  const model = getModel('net');
  const params = initParams(model, 1);
  const meta = { normalization: { mean: [0.5, 0.5, 0.5] as [number, number, number], std: [0.2, 0.2, 0.2] as [number, number, number] }, classNames: ['airplane', 'automobile', 'ship'] };
  await exportLayersModel(dir, model, params, meta);
  assert.deepEqual((await readExportedModel(dir)).meta, meta, 'a CIFAR-3 model: three names for the ten outputs');
  const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));

  for (const x of [NaN, Infinity]) {
    const damaged = Float32Array.from(params);
    damaged[17] = x;
    await writeFile(join(dir, 'weights.bin'), new Uint8Array(damaged.buffer));
    await assert.rejects(readExportedModel(dir), (e) => isTrainerError(e, 'E_MODEL') && e.message === `${dir}/weights.bin holds a non-finite weight (${x} at parameter 17): damaged`);
  }
  await writeFile(join(dir, 'weights.bin'), new Uint8Array(params.buffer));

  const cases: [object, RegExp][] = [
    [{ classNames: undefined }, /trainer\.classNames must be a list of 1 to 10 class names, got nothing/],
    [{ classNames: [] }, /classNames must be a list of 1 to 10 class names, got \[\]/],
    [{ classNames: 'airplane' }, /classNames must be a list .*, got "airplane"/],
    [{ classNames: [1, 2] }, /classNames must be a list .*, got \[1,2\]/],
    [{ classNames: Array.from({ length: 11 }, (_, i) => `c${i}`) }, /classNames must be a list of 1 to 10/],
    [{ normalization: undefined }, /trainer\.normalization must be \{mean: \[r, g, b\], std: \[r, g, b\]\} \(std positive\), got nothing/],
    [{ normalization: 'article' }, /normalization must be .*, got "article"/],
    [{ normalization: { mean: [0, 0], std: [1, 1, 1] } }, /normalization must be/],
    [{ normalization: { mean: [0, 0, 0], std: [1, 0, 1] } }, /normalization must be/],
  ];
  for (const [change, re] of cases) {
    const trainer = { ...json.userDefinedMetadata.trainer, ...change };
    await writeFile(join(dir, 'model.json'), JSON.stringify({ ...json, userDefinedMetadata: { trainer } }));
    await assert.rejects(readExportedModel(dir), (e) => isTrainerError(e, 'E_MODEL') && e.message.startsWith(`${dir}/model.json: userDefinedMetadata.trainer.`) && re.test(e.message), JSON.stringify(change));
  }
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
