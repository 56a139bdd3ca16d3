import assert from 'node:assert/strict';
import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { loadCheckpoint } from '../../src/coordinator/checkpoint.js';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { tempDir } from '../helpers.js';
import { TOKEN, freePort, killAll, spawnMain, spawnWorker, waitFor, wsConfig, type Spawned } from '../transports/ws/helpers.js';

const exists = (f: string) => access(f).then(() => true, () => false);

async function coordinatorFor(name: string, workers: number, over: object = {}) {
  const dir = await tempDir();
  const config = wsConfig(dir, name, { cluster: { ...wsConfig(dir, name).cluster, workers, noWorkerTimeoutMs: 120_000 }, ...over });
  const file = join(dir, 'config.yaml');
  await writeFile(file, JSON.stringify(config));
  const port = await freePort();
  const start = async (...flags: string[]) => {
    const coordinator = spawnMain(['coordinator', '--config', file, '--port', String(port), ...flags], { TRAINER_TOKEN: TOKEN });
    await waitFor('the coordinator to listen', () => coordinator.output().includes('listening'));
    return coordinator;
  };
  return { dir, coordinator: await start(), url: `127.0.0.1:${port}`, runDir: join(config.run.dir, config.run.name), start };
}

test('Ctrl-C while a new run\'s coordinator waits for its workers ends the wait at once and exits 130 with one line; the worker already there is told the run never began and exits 1 at once', async () => {
  const procs: Spawned[] = [];
  try {
    const { dir, coordinator, url, runDir } = await coordinatorFor('waiting', 2);
    procs.push(coordinator);
    const worker = spawnWorker(url, dir, 'early');
    procs.push(worker);
    await waitFor('one worker ready', () => /ready; 1 worker$/m.test(coordinator.output()));
    const t0 = performance.now();
    coordinator.child.kill('SIGINT');
    assert.equal(await coordinator.exited, 130, coordinator.output());
    assert.ok(performance.now() - t0 < 5000, `took ${performance.now() - t0} ms`);
    assert.match(coordinator.output(), /^stopped while waiting for workers; nothing trained yet, no checkpoint written$/m);
    assert.equal(await exists(new RunFolder(runDir).checkpointFile), false);
    // Nothing of the run exists: the worker has nothing to wait for. It was told "it may resume" and
    // retried for its --retry-for-ms (15 s here, 10 min under trainer.sbatch, for ever by default once joined).
    assert.equal(await worker.exited, 1, worker.output());
    assert.ok(performance.now() - t0 < 5000, `the worker took ${Math.round(performance.now() - t0)} ms`);
    assert.match(worker.output(), /^error E_WORKER_LOST: the coordinator at ws:\/\/127\.0\.0\.1:\d+ stopped before the run began \(nothing trained, nothing written\): no run to wait for; start the workers again with the coordinator$/m);
    assert.doesNotMatch(worker.output(), /retrying/);
  } finally {
    killAll(procs);
  }
});

test('SIGTERM (scancel, a pod evicted) while the coordinator waits for its first workers exits 143, as a signal death, with one line and nothing written (it was 130, the status of a stop with a checkpoint)', async () => {
  const procs: Spawned[] = [];
  try {
    const { coordinator, runDir } = await coordinatorFor('cancelled', 2);
    procs.push(coordinator);
    coordinator.child.kill('SIGTERM');
    assert.equal(await coordinator.exited, 143, coordinator.output());
    assert.equal(coordinator.output().match(/^stopped while waiting for workers; nothing trained yet, no checkpoint written$/gm)?.length, 1, coordinator.output());
    assert.doesNotMatch(coordinator.output(), /error E_/);
    assert.equal(await exists(runDir), false, 'nothing written: the run folder it made is gone');
  } finally {
    killAll(procs);
  }
});

test('Ctrl-C while the coordinator waits because every worker left mid-run writes a checkpoint at that step and exits 130 at once', async () => {
  const procs: Spawned[] = [];
  try {
    const { dir, coordinator, url, runDir, start } = await coordinatorFor('deserted', 1, { train: { epochs: 30 } });
    procs.push(coordinator);
    const worker = spawnWorker(url, dir, 'only');
    procs.push(worker);
    // After the first epoch's checkpoint, somewhere in the second epoch or later.
    await waitFor('a checkpoint', () => exists(new RunFolder(runDir).checkpointFile));
    worker.child.kill('SIGKILL');
    await waitFor('the coordinator to wait', () => /no workers: waiting up to 120 s/.test(coordinator.output()));
    const t0 = performance.now();
    coordinator.child.kill('SIGINT');
    assert.equal(await coordinator.exited, 130, coordinator.output());
    assert.ok(performance.now() - t0 < 5000, `took ${performance.now() - t0} ms`);
    assert.match(coordinator.output(), /^stopped at epoch \d+, step \d+; checkpoint written, continue with --resume$/m);
    const ck = await loadCheckpoint(new RunFolder(runDir).checkpointFile);
    assert.ok(ck.globalStep >= 7, `checkpoint at step ${ck.globalStep}`);
    assert.doesNotMatch(coordinator.output(), /E_INTERNAL|at .*\.js:\d+/);

    // Resumed, and stopped again while it waits for its workers: the run exists (its checkpoint),
    // so a worker there keeps waiting for it to come back.
    const resumed = await start('--resume', '--min-workers', '2');
    procs.push(resumed);
    const waiting = spawnWorker(url, dir, 'again');
    procs.push(waiting);
    await waitFor('the worker ready', () => /ready; 1 worker$/m.test(resumed.output()));
    resumed.child.kill('SIGINT');
    assert.equal(await resumed.exited, 130, resumed.output());
    assert.match(resumed.output(), /^stopped while waiting for workers; checkpoint in .*, continue with --resume$/m);
    await waitFor('the worker to retry', () => /lost \(4001 coordinator stopped; it may resume\); retrying/.test(waiting.output()));
    assert.equal(waiting.child.exitCode, null);
    waiting.child.kill('SIGTERM');
    assert.equal(await waiting.exited, 143, waiting.output());
  } finally {
    killAll(procs);
  }
});
