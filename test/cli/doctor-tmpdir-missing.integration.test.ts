// `trainer doctor --train` trains in a folder under the system's temporary folder.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { CLI } from './cli-helpers.js';

test('doctor --train with a TMPDIR that is gone or a file is E_IO naming it (it was E_INTERNAL, a bug of ours)', async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'a-file');
  await writeFile(file, '');
  for (const [tmp, why] of [[join(dir, 'gone'), 'no such file or folder (ENOENT)'], [file, 'a part of the path is a file, not a folder (ENOTDIR)']] as const) {
    const r = spawnSync(process.execPath, [CLI, 'doctor', '--train'], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, TMPDIR: tmp } });
    assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('error ')).join('\n'), `error E_IO: cannot make a folder for the training runs in ${tmp} (TMPDIR, else /tmp): ${why}`);
    assert.equal(r.status, 1);
  }
});
