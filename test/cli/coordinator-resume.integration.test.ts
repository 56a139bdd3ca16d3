import assert from 'node:assert/strict';
import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { modelSha, tempDir } from '../helpers.js';
import { TOKEN, freePort, killAll, referenceSha, spawnMain, spawnWorker, waitFor, wsConfig, type Spawned } from '../transports/ws/helpers.js';

/** A 3-epoch ws run `name` with its reference hash, and how to start its coordinator (again, with --resume) on one port. */
async function resumableRun(name: string) {
  const dir = await tempDir();
  const config = wsConfig(dir, name, { train: { epochs: 3 } });
  const expected = await referenceSha(config);
  const file = join(dir, 'config.yaml');
  await writeFile(file, JSON.stringify(config));
  const port = await freePort();
  const coordinator = (resume: boolean) =>
    spawnMain(['coordinator', '--config', file, '--port', String(port), '--min-workers', '2', ...(resume ? ['--resume'] : [])], {
      TRAINER_TOKEN: TOKEN,
    });
  return { dir, expected, url: `127.0.0.1:${port}`, runDir: join(config.run.dir, config.run.name), coordinator };
}

test('a coordinator SIGKILLed mid-run and restarted with --resume gets its workers back and ends bit-identical', async () => {
  const { dir, expected, url, runDir, coordinator } = await resumableRun('resumed');
  const procs: Spawned[] = [];
  try {
    const first = coordinator(false);
    procs.push(first);
    await waitFor('the coordinator to listen', () => first.output().includes('listening'));
    procs.push(spawnWorker(url, dir, 'a'), spawnWorker(url, dir, 'b'));
    // Killed after the first epoch's checkpoint, somewhere in the second epoch.
    await waitFor('a checkpoint', () => access(new RunFolder(runDir).checkpointFile).then(() => true, () => false));
    first.child.kill('SIGKILL');
    assert.equal(await first.exited, null);

    const second = coordinator(true);
    procs.push(second);
    assert.equal(await second.exited, 0, second.output());
    assert.match(second.output(), /resuming .* at epoch 2/);
    const sha = await modelSha(runDir);
    assert.equal(sha, expected);
    // The same two worker processes carried on: they reconnected rather than being replaced.
    assert.equal(second.output().match(/ready; \d workers?$/gm)?.length, 2);
  } finally {
    killAll(procs);
  }
});

test('a coordinator stopped by SIGTERM (a pod evicted, a job preempted) leaves its workers retrying; restarted with --resume it gets them back and ends bit-identical', async () => {
  const { dir, expected, url, runDir, coordinator } = await resumableRun('evicted');
  const procs: Spawned[] = [];
  try {
    const first = coordinator(false);
    procs.push(first);
    await waitFor('the coordinator to listen', () => first.output().includes('listening'));
    const workers = [spawnWorker(url, dir, 'a'), spawnWorker(url, dir, 'b')];
    procs.push(...workers);
    await waitFor('a checkpoint', () => access(new RunFolder(runDir).checkpointFile).then(() => true, () => false));
    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 130, first.output());
    assert.match(first.output(), /checkpoint written, continue with --resume/);
    // The workers were told "coordinator done" and exited 0: the resumed coordinator then waited for ever.
    for (const w of workers) await waitFor('the worker to wait for the coordinator', () => /lost \(4001 coordinator stopped; it may resume\); retrying/.test(w.output()));
    assert.deepEqual(workers.map((w) => w.child.exitCode), [null, null]);

    const second = coordinator(true);
    procs.push(second);
    assert.equal(await second.exited, 0, second.output());
    const sha = await modelSha(runDir);
    assert.equal(sha, expected);
    // At the end of the run the workers are told it is done, and exit 0.
    for (const w of workers) assert.equal(await w.exited, 0, w.output());
  } finally {
    killAll(procs);
  }
});
