import assert from 'node:assert/strict';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { saveCheckpoint } from '../../src/coordinator/checkpoint.js';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { shellWord } from '../../src/shared/shell.js';
import { tempDir } from '../helpers.js';
import { sampleCheckpoint } from '../coordinator/checkpoint-fixtures.js';

test('shellWord leaves plain words alone and single-quotes the rest, quotes included', () => {
  assert.equal(shellWord('/home/ann/runs'), '/home/ann/runs');
  assert.equal(shellWord('cifar3-2'), 'cifar3-2');
  assert.equal(shellWord('/home/ann/my runs'), `'/home/ann/my runs'`);
  assert.equal(shellWord(`ann's $HOME`), `'ann'\\''s $HOME'`);
  assert.equal(shellWord(''), `''`);
});

test('the command that finishes a stopped run can be pasted when its folder has a space in it', async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const runs = join(dir, 'my runs');
  const folder = new RunFolder(join(runs, 'cut 1'));
  await mkdir(join(folder.dir, 'checkpoint'), { recursive: true });
  // A checkpoint that reads: a damaged one is said to be damaged (eval-damaged-checkpoint).
  await saveCheckpoint(folder.checkpointFile, await sampleCheckpoint(dir, false));
  const err = await folder.unfinished();
  assert.ok(err !== null);
  assert.equal(err.message, `${folder.dir} has no model yet: the run stopped before its end; finish it with trainer train --run.dir '${runs}' --run.name 'cut 1' --resume`);
});

test('the command that finishes a stopped run names its folder when it was given as . or .. (trainer eval . inside it)', async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const runs = join(dir, 'runs');
  const run = join(runs, 'live');
  await mkdir(join(run, 'checkpoint'), { recursive: true });
  await saveCheckpoint(join(run, 'checkpoint', 'state.ckpt'), await sampleCheckpoint(dir, false));
  // `--run.dir . --run.name .` and `--run.name ..` are refused by train: run.name is a folder's own name.
  for (const given of [`${run}/.`, `${run}/checkpoint/..`]) {
    const err = await new RunFolder(given).unfinished();
    assert.ok(err !== null);
    assert.equal(err.message, `${given} has no model yet: the run stopped before its end; finish it with trainer train --run.dir ${shellWord(runs)} --run.name live --resume`);
  }
});
