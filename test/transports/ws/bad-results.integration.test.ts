import assert from 'node:assert/strict';
import test from 'node:test';
import { CLOSE } from '../../../src/transports/ws/protocol.js';
import { tempDir } from '../../helpers.js';
import { REPEAT_OFFENCES as MAX_STALLS, killAll, referenceSha, trainWithRepeatOffender, waitFor, wsConfig, type Spawned } from './helpers.js';

test('a worker holding the token whose results do not fit their tasks rejoins only after a growing back-off and is refused for the run after cluster.maxStalls of them (it was evicted and rejoined at every step, for the whole run); the honest worker is never evicted and the run ends at the reference hash', async () => {
  const dir = await tempDir();
  const config = wsConfig(dir, 'misfit', {
    train: { epochs: 2 },
    eval: { every: 1, batchSize: 50 },
    // Its first back-off long enough for it to come back inside it on a loaded machine: it reconnects
    // 100 ms after its eviction, and the close, the new socket and its hello took past 300 ms (the
    // back-off this test had) in 4 of 6 runs beside two other test files on one core.
    cluster: { stallBackoffMs: 1000, maxStalls: MAX_STALLS },
  });
  const expected = await referenceSha(config);
  const { run, procs, lines, closes, evictions } = await trainWithRepeatOffender(config, dir, { mode: 'misfit', name: 'misfit', code: CLOSE.badResult });
  const saw = (re: RegExp) => lines.some((l) => re.test(l));
  try {
    const r = await run;
    assert.equal(r.weightsSha256, expected);
    assert.equal(evictions(), MAX_STALLS, `the misfit was evicted for its results ${evictions()} times in 14 steps:\n${lines.join('\n')}`);
    assert.ok(!closes.some((c) => c.name === 'honest'), `closed: ${JSON.stringify(closes)}`);
    assert.ok(saw(/^worker \S+ \(misfit\) gone \(4422 E_WORKER_LOST: (gradient of \d+ values, model has \d+|count or correct does not fit the task)\)/), lines.join('\n'));
    assert.ok(saw(/^worker \S+ \(misfit\) sent a result that does not fit its task: bad result 1 of 3: may rejoin in 1000 ms$/), lines.join('\n'));
    assert.ok(saw(/^worker \S+ \(misfit\) sent a result that does not fit its task: bad result 2 of 3: may rejoin in 2000 ms$/), lines.join('\n'));
    assert.ok(saw(/^worker \S+ \(misfit\) sent a result that does not fit its task: refused for the rest of the run after 3 bad results$/), lines.join('\n'));
    assert.ok(saw(/^worker \S+ \(misfit\) refused: sent 1 bad result\(s\): refused for another \d+ ms/), 'back too early: refused');
    const misfit = procs[1] as Spawned;
    await waitFor('the misfit to give up', () => misfit.child.exitCode !== null, 10_000);
    assert.match(misfit.output(), /refuses this worker for the rest of the run \(refused for the rest of the run: 3 bad results \(cluster\.maxStalls\)\)/);
  } finally {
    killAll(procs);
  }
});
