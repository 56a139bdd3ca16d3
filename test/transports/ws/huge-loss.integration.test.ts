// A result's loss is a float32 that the worker computed; the coordinator sums them in float64.
// A token holder that sent a finite 1e308 for each of a step's micro-batches made that step's loss
// Infinity: the run stopped with E_DIVERGED on its word alone, as newcomers' results must never do.
import assert from 'node:assert/strict';
import test from 'node:test';
import { CLOSE } from '../../../src/transports/ws/protocol.js';
import { tempDir } from '../../helpers.js';
import { killAll, referenceSha, spawnWorker, trainWithRogueFirst, waitFor, wsConfig } from './helpers.js';

test("a worker whose losses lie past float32's range is dropped at its first result, and the run ends at the reference hash", async () => {
  const dir = await tempDir();
  const config = wsConfig(dir, 'huge-loss', { train: { epochs: 1 } });
  const expected = await referenceSha(config);
  // Alone at first, so every result of the first step is the liar's.
  const { run, procs, lines, gone, url } = trainWithRogueFirst(config, dir, { minWorkers: 1, mode: 'hugeloss', name: 'liar' });
  try {
    await waitFor('the liar to be dropped', () => gone.has('liar'), 60_000);
    // Read now: once its back-off is over the liar rejoins and, at the run's end, may leave again with the coordinator's 4000.
    const firstClose = gone.get('liar');
    procs.push(spawnWorker(url(), dir, 'honest'));
    const r = await run;
    assert.equal(r.weightsSha256, expected);
    assert.equal(firstClose, CLOSE.protocolError);
    assert.ok(lines.some((l) => /^worker \S+ \(liar\) gone \(4400 gradient\.lossSum must be a number of float32's range/.test(l)), lines.join('\n'));
  } finally {
    killAll(procs);
  }
});
