import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import type { PoolEvent } from '../../../src/transports/ws/pool.js';
import { tempDir } from '../../helpers.js';
import { killAll, referenceSha, trainWithWorkers, wsConfig, type Spawned } from './helpers.js';

test('a worker SIGKILLed mid-step loses its micro-batches to the other, and the weights stay bit-identical', async () => {
  const dir = await tempDir();
  const config = wsConfig(dir, 'killed');
  const expected = await referenceSha(config);
  const workers = new Map<string, Spawned>();
  const names = new Map<string, string>();
  const events: PoolEvent[] = [];
  let killedAtStep = -1;
  try {
    const lines: string[] = [];
    const r = await trainWithWorkers(config, dir, ['a', 'b'], workers, {
      log: (l) => lines.push(l),
      onEvent: (e) => {
        events.push(e);
        if (e.kind === 'ready') names.set(e.worker, e.name);
        // The moment step 3 hands worker b a micro-batch, b dies.
        if (e.kind === 'task' && e.step === 3 && names.get(e.worker) === 'b' && killedAtStep < 0) {
          killedAtStep = e.step;
          workers.get('b')?.child.kill('SIGKILL');
        }
      },
    });
    assert.equal(killedAtStep, 3);
    // A killed process sends no close frame and no reason: it read "gone (1006 )".
    assert.ok(lines.some((l) => /^worker \S+ \(b\) gone \(1006 connection lost\); 1 worker left$/.test(l)), lines.join('\n'));
    assert.equal(r.weightsSha256, expected);
    const evicted = events.findIndex((e) => e.kind === 'evicted' && names.get(e.worker) === 'b');
    assert.ok(evicted > 0, 'b was noticed gone');
    // Each micro-batch of step 3 given to b went to a too, within step 3: again once b was gone, or,
    // on a loaded machine where b's silence came first, as a slow one's second copy.
    const step3 = events.filter((e): e is Extract<PoolEvent, { kind: 'task' }> => e.kind === 'task' && e.step === 3);
    const ofB = step3.filter((e) => names.get(e.worker) === 'b').map((e) => e.index);
    assert.ok(ofB.length > 0);
    for (const index of ofB) {
      const first = step3.findIndex((e) => e.index === index && names.get(e.worker) === 'b');
      assert.ok(step3.slice(first + 1).some((e) => e.index === index && names.get(e.worker) === 'a'), `micro-batch ${index} of step 3 went to a after b`);
    }
    // workers.json counts since the start: b's steps before it died too (it lost b's row).
    const rows = JSON.parse(await readFile(join(r.runDir, 'workers.json'), 'utf8')) as { worker: string; microBatches: number }[];
    const b = rows.filter((row) => / b$/.test(row.worker));
    assert.equal(b.length, 1, JSON.stringify(rows));
    assert.ok((b[0]?.microBatches ?? 0) > 0);
    const steps = (await readFile(join(r.runDir, 'steps.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { step: number });
    const trained = (steps.at(-1)?.step ?? 0) * config.train.microBatches;
    assert.ok(rows.reduce((n, row) => n + row.microBatches, 0) >= trained, `${JSON.stringify(rows)}: at least the ${trained} micro-batches trained`);
  } finally {
    killAll([...workers.values()]);
  }
});
