import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { expectFailures, smallConfigFile } from './cli-helpers.js';

// A run.dir no folder can be made at was E_IO, exit 1: a scheduler retried the same command, which
// met the same file again. A full disk stays E_IO (exit 1), as do permissions (someone may fix them).
test('a run.dir that is a file, or below one, is E_CONFIG with exit 2, naming the folder and the fault; nothing is made', async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const config = await smallConfigFile(dir, 'r', 1);
  const file = join(dir, 'a-file');
  await writeFile(file, 'not a folder\n');
  await mkdir(join(dir, 'ok'));
  expectFailures([
    [['train', '-c', config, '--run.dir', file], `error E_CONFIG: run.dir: cannot make the run folder ${join(file, 'r')}: a part of the path is a file, not a folder (ENOTDIR)\n`],
    [['train', '-c', config, '--run.dir', join(file, 'below')], `error E_CONFIG: run.dir: cannot make the run folder ${join(file, 'below', 'r')}: a part of the path is a file, not a folder (ENOTDIR)\n`],
  ]);
  assert.equal(existsSync(join(dir, 'runs')), false);
});
