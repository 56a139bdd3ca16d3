// A run whose workers compute on different backends is allowed, and says so: the coordinator's
// log when such a worker joins, the epoch line, and metrics.jsonl's backends.
import assert from 'node:assert/strict';
import test from 'node:test';
import { RunFolder } from '../../../src/coordinator/run-folder.js';
import { tempDir } from '../../helpers.js';
import { killAll, spawnWorker, trainOverWs, wsConfig, type Spawned } from './helpers.js';

test('a wasm worker and a cpu worker train together, and the run says "parity: mixed backends"', async () => {
  const dir = await tempDir();
  const config = wsConfig(dir, 'mixed', { data: { synthetic: { trainSize: 64, valSize: 32 } }, train: { epochs: 1 }, eval: { every: 1, batchSize: 32 } });
  const spawned: Spawned[] = [];
  const lines: string[] = [];
  try {
    const r = await trainOverWs(config, {
      minWorkers: 2,
      spawn: (url) => spawned.push(spawnWorker(url, dir, 'fast', ['--backend', 'wasm']), spawnWorker(url, dir, 'slow', ['--backend', 'cpu'])),
      log: (l) => lines.push(l),
    });
    assert.ok(r.weightsSha256);
    assert.ok(lines.some((l) => /^parity: mixed backends \((cpu, wasm|wasm, cpu)\)/.test(l)), lines.join('\n'));
    const metrics = await new RunFolder(r.runDir).readMetrics();
    assert.deepEqual(metrics.at(-1)?.backends, ['cpu', 'wasm']);
    assert.ok(lines.some((l) => /Epoch 1, .*parity: mixed backends \(cpu, wasm\)/.test(l)), 'the epoch line says so');
  } finally {
    killAll(spawned);
  }
});
