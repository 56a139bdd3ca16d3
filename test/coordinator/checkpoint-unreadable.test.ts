import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import test from 'node:test';
import { loadCheckpoint } from '../../src/coordinator/checkpoint.js';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { isTrainerError } from '../../src/shared/errors.js';
import { tempDir } from '../helpers.js';

test('a checkpoint there but unreadable is said to be unreadable, in words, not to be missing', async () => {
  const file = new RunFolder(await tempDir()).checkpointFile;
  await mkdir(file, { recursive: true });
  await assert.rejects(loadCheckpoint(file), (e) => {
    assert.ok(isTrainerError(e, 'E_CHECKPOINT'), String(e));
    assert.equal(e.message, `cannot read checkpoint ${file}: a folder, not a file (EISDIR)`);
    return true;
  });
});

test('a missing checkpoint is still "no checkpoint to resume from"', async () => {
  const file = new RunFolder(await tempDir()).checkpointFile;
  await assert.rejects(loadCheckpoint(file), (e) => isTrainerError(e, 'E_CHECKPOINT') && e.message === `no checkpoint to resume from: cannot read ${file}: no such file or folder (ENOENT)`);
});
