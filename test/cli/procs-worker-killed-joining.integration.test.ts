import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { killPids, pidsWith, tempDir } from '../helpers.js';
import { spawnMain, waitFor, wsConfig } from '../transports/ws/helpers.js';

test('trainer train --procs 2 whose worker process is killed before it joined (the OOM killer, an operator) says it was ended by that signal, quoting its last line as such (it said "exited (SIGKILL): dataset ... from the cache", as if that were why)', async () => {
  const dir = await tempDir();
  const config = wsConfig(dir, 'killed-joining', { train: { epochs: 1 }, cluster: { transport: 'local', workers: 1 } });
  const file = join(dir, 'config.yaml');
  await writeFile(file, JSON.stringify(config));
  const run = spawnMain(['train', '--config', file, '--procs', '2'], { TRAINER_CACHE_DIR: join(dir, 'cache') });
  let url = '';
  try {
    // Killed as soon as both are there: a worker loads its backend and warms up before it joins.
    await waitFor('the worker processes', () => {
      url = /listening on (ws:\/\/[\d.:]+);/.exec(run.output())?.[1] ?? '';
      return url !== '' && pidsWith(`--connect ${url}`).length === 2;
    });
    process.kill(pidsWith(`--connect ${url}`)[0] as number, 'SIGKILL');
    assert.equal(await run.exited, 1, run.output());
    const last = run.output().trim().split('\n').pop() ?? '';
    assert.match(last, /^error E_WORKER_LOST: worker process \d was ended by SIGKILL before it joined( \(its last line: [^\n]+\))?$/);
  } finally {
    run.child.kill('SIGKILL');
    if (url !== '') killPids(pidsWith(`--connect ${url}`));
  }
});
