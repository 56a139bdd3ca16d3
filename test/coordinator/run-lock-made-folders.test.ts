// A run that fails before it begins takes back the folders it made to hold its lock, every one of
// them: it removed runs/NAME but left an empty runs/ behind (`trainer train` without data, in a
// fresh folder, left `runs/`). A folder that holds anything else stays, and so does each above it.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { tempDir } from '../helpers.js';

const folder = (dir: string, name: string) => RunFolder.of({ run: { dir, name, seed: 0 } });

test('a released run folder takes back every folder made for it, deepest first, while they are empty', async () => {
  const dir = await tempDir();
  const runs = join(dir, 'deep', 'runs');
  const a = folder(runs, 'a');
  assert.equal(await a.claim(), null);
  assert.ok(existsSync(a.lockFile));
  await a.release();
  assert.deepEqual(await readdir(dir), [], 'deep/, deep/runs/ and deep/runs/a/ are gone');
});

test('a folder holding anything else stays, and so does each folder above it', async () => {
  const dir = await tempDir();
  const runs = join(dir, 'runs');
  // Two runs claimed in a fresh runs/: the first made runs/, the second found it.
  const [x, y] = [folder(runs, 'x'), folder(runs, 'y')];
  assert.equal(await x.claim(), null);
  assert.equal(await y.claim(), null);
  await x.release();
  assert.deepEqual(await readdir(runs), ['y'], 'x went; runs/ holds y');
  // y began: it wrote a file of its own.
  await writeFile(y.configFile, '{}');
  await y.release();
  assert.deepEqual(await readdir(join(runs, 'y')), ['config.json'], 'a run that began keeps its folder');
  assert.deepEqual(await readdir(dir), ['runs']);
});
