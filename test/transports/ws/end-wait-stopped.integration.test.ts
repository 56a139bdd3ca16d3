/**
 * Ctrl-C while the coordinator, its last step done, waits for a worker that does not read its
 * socket (stopped, or busy) to hear that the run is over.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { runTraining } from '../../../src/coordinator/run.js';
import { tempDir } from '../../helpers.js';
import { killAll, loopbackWsPool, spawnRogue, spawnWorker, wsConfig, type Spawned } from './helpers.js';

test('a stop signal ends the wait for a worker to read that the run is over, and the run ends with its model at once (it waited the 6 s on; a second Ctrl-C then quit with exit 130 and no model)', async (t) => {
  const dir = await tempDir();
  const config = wsConfig(dir, 'stopped-at-the-end', { train: { epochs: 2 } });
  const unblock = join(dir, 'unblock');
  const controller = new AbortController();
  const procs: Spawned[] = [];
  const lines: string[] = [];
  const saw = (re: RegExp) => lines.some((l) => re.test(l));
  let stoppedAtMs = Number.NaN;
  // From its 6th result on (of about 30), the busy worker reads nothing until the file exists.
  const createPool = loopbackWsPool({
    minWorkers: 2,
    signal: controller.signal,
    onListening: (u) => procs.push(spawnWorker(u, dir, 'honest'), spawnRogue(u, dir, 'busy@6', 'busy', { ROGUE_UNBLOCK: unblock })),
  });
  const log = (l: string) => {
    lines.push(l);
    if (/waiting up to [\d.]+ s for worker \S+ \(busy\) to read that the run is over/.test(l)) {
      stoppedAtMs = performance.now();
      controller.abort();
    }
  };
  try {
    const r = await runTraining({ config, resume: false, createPool, log });
    const endedInMs = performance.now() - stoppedAtMs;
    assert.equal(r.outcome, 'finished');
    assert.match(r.weightsSha256 ?? '', /^[0-9a-f]{64}$/);
    assert.ok(saw(/^stopped waiting for workers to read that the run is over \(a stop signal\)$/), lines.join('\n'));
    assert.ok(saw(/\(busy\) did not answer that the run is over: if it never reads it/), lines.join('\n'));
    assert.ok(endedInMs < 2000, `the run ended ${Math.round(endedInMs)} ms after the stop signal:\n${lines.join('\n')}`);
    t.diagnostic(`the run ended ${Math.round(endedInMs)} ms after the stop signal`);
  } finally {
    writeFileSync(unblock, '');
    killAll(procs);
  }
});
