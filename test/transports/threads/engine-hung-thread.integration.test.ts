import assert from 'node:assert/strict';
import test from 'node:test';
import { generateSynthetic } from '../../../src/data/synthetic.js';
import { isTrainerError } from '../../../src/shared/errors.js';
import { ThreadEngine } from '../../../src/transports/threads/engine.js';
import { getModel, initParams } from '../../../src/worker/model.js';

process.env['TRAINER_WARMUP_STEPS'] = '2';

test('trainer worker --threads: a task arriving while a hung thread is being replaced waits for its slot and gives the bits of a clean one (it was E_INTERNAL, "more than 1 tasks at once")', async () => {
  const model = getModel('net');
  const data = { train: generateSynthetic(64, 1), val: generateSynthetic(16, 2) };
  const start = (injectFault?: (task: number) => 'hang' | undefined) =>
    ThreadEngine.start({
      threads: 1,
      backend: 'wasm',
      gpu: null,
      model,
      normalization: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
      data,
      maxBatch: 16,
      microBatch: 16,
      taskTimeoutMs: 2000,
      ...(injectFault ? { injectFault } : {}),
    });
  const weights = initParams(model, 0);
  const indices = Int32Array.from({ length: 16 }, (_, i) => i + 8);

  const clean = await start();
  const want = new Float32Array(model.size);
  try {
    await clean.gradient(1, weights, indices, want);
  } finally {
    await clean.close();
  }

  const engine = await start((task) => (task === 0 ? 'hang' : undefined));
  try {
    const first = engine.gradient(1, weights, indices, new Float32Array(model.size));
    // The second task comes as the coordinator sends it again: at once, while the slot is still the hung thread's.
    const out = new Float32Array(model.size);
    const second = first.then(
      () => assert.fail('the hung task succeeded'),
      (err: unknown) => {
        assert.ok(isTrainerError(err, 'E_TIMEOUT'), String(err));
        return engine.gradient(1, weights, indices, out);
      },
    );
    const stats = await second;
    assert.equal(stats.count, 16);
    assert.deepEqual(Buffer.from(out.buffer), Buffer.from(want.buffer));
  } finally {
    await engine.close();
  }
});
