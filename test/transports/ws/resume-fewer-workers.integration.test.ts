import assert from 'node:assert/strict';
import test from 'node:test';
import { runTraining } from '../../../src/coordinator/run.js';
import { isTrainerError } from '../../../src/shared/errors.js';
import type { PoolEvent } from '../../../src/transports/ws/pool.js';
import { tempDir } from '../../helpers.js';
import { killAll, loopbackWsPool, referenceSha, spawnWorker, wsConfig, type Spawned } from './helpers.js';

test('a resumed coordinator waits for --min-workers only up to cluster.noWorkerTimeoutMs, then goes on with the workers that came (a lost node held it for ever); a new run waits for all', async () => {
  const dir = await tempDir();
  const config = wsConfig(dir, 'fewer', { train: { epochs: 1 }, cluster: { noWorkerTimeoutMs: 2000 } });
  const expected = await referenceSha(config);
  const procs: Spawned[] = [];
  const lines: string[] = [];
  try {
    // The pool's own wait, as a resumed run's: 2 wanted, 1 comes.
    const t0 = performance.now();
    const r = await runTraining({
      config,
      resume: false,
      log: (l) => lines.push(l),
      createPool: loopbackWsPool({ minWorkers: 2, resumed: true, signal: AbortSignal.timeout(60_000), onListening: (u) => procs.push(spawnWorker(u, dir, 'only')) }),
    });
    assert.equal(r.weightsSha256, expected);
    assert.ok(lines.some((l) => /^resuming with 1 of 2 worker\(s\), all that came within cluster\.noWorkerTimeoutMs \(2 s\); the others take micro-batches once they join$/.test(l)), lines.join('\n'));
    assert.ok(performance.now() - t0 < 50_000);

    // A new run: the same wait holds for both, past cluster.noWorkerTimeoutMs. Stopped 6 s after its
    // start and 2 s after its one worker's ready, whichever is later: a stop at 6 s alone came before
    // that worker was ready on a loaded machine ("(0 ready)"), which showed nothing.
    const fresh = { ...config, run: { ...config.run, name: 'fresh' } };
    const started: string[] = [];
    const stop = new AbortController();
    const startedAt = performance.now();
    const stopOnceReady = (e: PoolEvent) => {
      if (e.kind === 'ready' && e.name === 'alone') setTimeout(() => stop.abort(), Math.max(startedAt + 6000, performance.now() + 2000) - performance.now());
    };
    await assert.rejects(
      runTraining({
        config: fresh,
        resume: false,
        log: (l) => started.push(l),
        onStep: () => started.push('step'),
        createPool: loopbackWsPool({
          minWorkers: 2,
          // Bounded all the same: a worker that never gets ready fails the test ("(0 ready)").
          signal: AbortSignal.any([stop.signal, AbortSignal.timeout(120_000)]),
          onListening: (u) => procs.push(spawnWorker(u, dir, 'alone')),
          extra: { onEvent: stopOnceReady },
        }),
      }),
      (e) => isTrainerError(e, 'E_NO_WORKERS') && /stopped while waiting for 2 workers \(1 ready\)/.test(e.message),
    );
    assert.ok(!started.includes('step'), started.join('\n'));
  } finally {
    killAll(procs);
  }
});
