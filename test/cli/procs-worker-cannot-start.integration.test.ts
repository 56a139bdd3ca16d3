import assert from 'node:assert/strict';
import { copyFile, link, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { killPids, pidsWith, tempDir } from '../helpers.js';
import { referenceSha, spawnMain, waitFor, wsConfig } from '../transports/ws/helpers.js';

test('trainer train --procs 2 whose worker process cannot be started again (its Node.js binary gone mid-run, as in an upgrade): it says so, gives that worker up after its tries, and the run ends on the other one, bit-identical (the spawn error ended the coordinator with a stack trace, leaving the other worker behind)', async () => {
  const dir = await tempDir();
  // The run's own Node.js, removed once it runs: a new process of it cannot be started (ENOENT).
  const node = join(dir, 'node');
  await link(process.execPath, node).catch(() => copyFile(process.execPath, node));
  // About 0.2 s an epoch here.
  const epochs = 20;
  const config = wsConfig(dir, 'gone-node', { train: { epochs }, eval: { every: epochs }, cluster: { transport: 'local', workers: 1 } });
  const expected = await referenceSha(config);
  const file = join(dir, 'config.yaml');
  await writeFile(file, JSON.stringify(config));
  const run = spawnMain(['train', '--config', file, '--procs', '2'], { TRAINER_CACHE_DIR: join(dir, 'cache') }, { node });
  let url = '';
  try {
    await waitFor('the first epoch', () => {
      url = /listening on (ws:\/\/[\d.:]+);/.exec(run.output())?.[1] ?? '';
      return url !== '' && /Epoch 1,/.test(run.output());
    });
    await unlink(node);
    const workers = pidsWith(`--connect ${url}`);
    assert.equal(workers.length, 2, run.output());
    process.kill(workers[0] as number, 'SIGKILL');
    assert.equal(await run.exited, 0, run.output());
    const out = run.output();
    assert.match(out, /worker process (\d) exited \(SIGKILL\); starting it again \(1 of 3\)\n/);
    const i = /worker process (\d) exited \(SIGKILL\)/.exec(out)?.[1];
    assert.match(out, new RegExp(`worker process ${i} could not be started \\(spawn ${node} ENOENT\\); starting it again \\(2 of 3\\)\\n`));
    assert.match(out, new RegExp(`worker process ${i} could not be started \\(spawn ${node} ENOENT\\) for the 4th time; not started again\\n`));
    assert.doesNotMatch(out, /Unhandled|    at /, 'no stack trace');
    assert.match(out, new RegExp(`weights sha256 ${expected}`));
  } finally {
    run.child.kill('SIGKILL');
    // A worker left behind (the old code's crash left one): bounded, it would retry for 10 s.
    if (url !== '') killPids(pidsWith(`--connect ${url}`));
  }
});
