/**
 * `trainer coordinator` after its last step, waiting (up to 7.25 s) for a worker that does not read
 * its socket (busy, or stopped) to read that the run is over.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { loadCheckpoint } from '../../src/coordinator/checkpoint.js';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { bytesOf } from '../../src/shared/atomic-file.js';
import { modelSha, tempDir } from '../helpers.js';
import { TOKEN, freePort, killAll, spawnMain, spawnRogue, spawnWorker, waitFor, wsConfig, type Spawned } from '../transports/ws/helpers.js';

const END_WAIT = /waiting up to [\d.]+ s for worker \S+ \(busy\) to read that the run is over/;

/**
 * A 2-epoch coordinator with an honest worker and one that, from its 6th result on (of about 30),
 * reads nothing until the file `unblock` exists: the end of the run waits for it.
 */
async function coordinatorWithBusyWorker(name: string, procs: Spawned[]) {
  const dir = await tempDir();
  const config = wsConfig(dir, name);
  const file = join(dir, 'config.yaml');
  await writeFile(file, JSON.stringify(config));
  const port = await freePort();
  const coordinator = spawnMain(['coordinator', '--config', file, '--port', String(port), '--min-workers', '2'], { TRAINER_TOKEN: TOKEN });
  procs.push(coordinator);
  await waitFor('the coordinator to listen', () => coordinator.output().includes('listening'));
  const unblock = join(dir, 'unblock');
  const url = `127.0.0.1:${port}`;
  procs.push(spawnWorker(url, dir, 'honest'), spawnRogue(url, dir, 'busy@6', 'busy', { ROGUE_UNBLOCK: unblock }));
  await waitFor('the wait for the busy worker', () => END_WAIT.test(coordinator.output()));
  return { coordinator, folder: new RunFolder(join(config.run.dir, config.run.name)), unblock };
}

test('a coordinator killed (SIGKILL) while it waits for a worker to read that the run is over leaves the model, the final checkpoint\'s weights (it was written after the wait: no model/)', async () => {
  const procs: Spawned[] = [];
  let unblock = '';
  try {
    const run = await coordinatorWithBusyWorker('killed-at-the-end', procs);
    unblock = run.unblock;
    run.coordinator.child.kill('SIGKILL');
    await run.coordinator.exited;
    const ck = await loadCheckpoint(run.folder.checkpointFile);
    assert.deepEqual([ck.epoch, ck.stepInEpoch], [2, 0], 'the final checkpoint');
    const expected = createHash('sha256').update(bytesOf(ck.params)).digest('hex');
    const sha = await modelSha(run.folder.dir).catch((err: Error) => `no model: ${err.message}`);
    assert.equal(sha, expected, run.coordinator.output());
    await access(join(run.folder.modelDir, 'model.json'));
    assert.match(run.coordinator.output(), new RegExp(`^model saved to \\S+ \\(weights sha256 ${expected}\\)$`, 'm'));
  } finally {
    if (unblock) writeFileSync(unblock, '');
    killAll(procs);
  }
});

test('Ctrl-C while the coordinator waits for a worker to read that the run is over says the training is finished and ends at once, exit 0 (it said "stopping at the next step")', async () => {
  const procs: Spawned[] = [];
  let unblock = '';
  try {
    const run = await coordinatorWithBusyWorker('ctrl-c-at-the-end', procs);
    unblock = run.unblock;
    const t0 = performance.now();
    run.coordinator.child.kill('SIGINT');
    assert.equal(await run.coordinator.exited, 0, run.coordinator.output());
    assert.ok(performance.now() - t0 < 3000, `ended ${Math.round(performance.now() - t0)} ms after Ctrl-C`);
    const out = run.coordinator.output();
    assert.match(out, /^training is finished, its model saved: ending \(Ctrl-C again to quit at once\)$/m);
    assert.doesNotMatch(out, /next step/);
    assert.match(out, /^stopped waiting for workers to read that the run is over \(a stop signal\)$/m);
    assert.match(await modelSha(run.folder.dir), /^[0-9a-f]{64}$/);
  } finally {
    if (unblock) writeFileSync(unblock, '');
    killAll(procs);
  }
});
