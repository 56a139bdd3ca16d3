// The lines held back about slow parts (at most one a minute per worker, the rest counted) were told
// when the pool closed, which is after the model is written: "model saved" was followed by "... is
// slow ..." lines, as if training went on. They are told when the training ends, before the model is written.
import assert from 'node:assert/strict';
import test from 'node:test';
import { runTraining } from '../../../src/coordinator/run.js';
import { tempDir } from '../../helpers.js';
import { killAll, loopbackWsPool, spawnRogue, spawnWorker, wsConfig, type Spawned } from './helpers.js';

test('every line about a slow part of the run is told before "model saved"', async () => {
  const dir = await tempDir();
  const config = wsConfig(dir, 'slow-lines', { train: { epochs: 1 } });
  const procs: Spawned[] = [];
  const lines: string[] = [];
  try {
    const r = await runTraining({
      config,
      resume: false,
      createPool: loopbackWsPool({ minWorkers: 2, onListening: (u) => procs.push(spawnWorker(u, dir, 'honest'), spawnRogue(u, dir, 'late:400', 'late')) }),
      log: (l) => lines.push(l),
    });
    assert.ok(r.weightsSha256 !== null);
    const saved = lines.findIndex((l) => l.startsWith('model saved to '));
    const slow = lines.flatMap((l, i) => (/ is slow \(past \d+ ms on worker \S+ \(late\)\)/.test(l) ? [i] : []));
    assert.ok(saved >= 0, lines.join('\n'));
    // The first at once, the rest held back and told later (with their count when more than one).
    assert.ok(slow.length >= 2, lines.join('\n'));
    assert.ok(slow.every((i) => i < saved), `a slow line after "model saved":\n${lines.join('\n')}`);
  } finally {
    killAll(procs);
  }
});
