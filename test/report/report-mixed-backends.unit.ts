import assert from 'node:assert/strict';
import test from 'node:test';
import { renderReport } from '../../src/report/html.js';
import { readRun } from '../../src/report/read-run.js';
import { tempDir } from '../helpers.js';
import { writeRun } from './written-run.js';

test('the report flags a run resumed on another backend kind as mixed, though its last epochs computed on one kind (only the last epoch was read)', async () => {
  const dir = await tempDir();
  // Stopped in epoch 2 and resumed with TRAINER_WASM_SIMD=0, as the metrics lines then say.
  const kinds = [['wasm'], ['wasm', 'wasm stock-kernels'], ['wasm stock-kernels'], ['wasm stock-kernels']];
  const resumed = await readRun(await writeRun(dir, { name: 'resumed', epochs: 4, stepsPerEpoch: 3, backends: (e) => kinds[e - 1] ?? [] }));
  assert.match(renderReport(resumed), /<p class="note" id="parity">parity: mixed backends \(wasm, wasm stock-kernels\): the weights hash does not match a run on one backend\.<\/p>/);
  const plain = await readRun(await writeRun(dir, { name: 'plain', epochs: 2, stepsPerEpoch: 3 }));
  assert.doesNotMatch(renderReport(plain), /id="parity"/);
});
