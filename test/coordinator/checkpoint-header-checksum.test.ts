import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import test from 'node:test';
import { loadCheckpoint, saveCheckpoint } from '../../src/coordinator/checkpoint.js';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { isTrainerError } from '../../src/shared/errors.js';
import { tempDir } from '../helpers.js';
import { sampleCheckpoint } from './checkpoint-fixtures.js';

test('a one-bit flip anywhere in a checkpoint, the epoch and step in its header included, is E_CHECKPOINT', async () => {
  const dir = await tempDir();
  const file = new RunFolder(dir).checkpointFile;
  await saveCheckpoint(file, await sampleCheckpoint(dir, true, 64));
  const good = await readFile(file);
  const text = good.toString('latin1');
  // The flips the issue found resuming silently: "epoch":2 -> 3 and "stepInEpoch":5 -> 4 are one bit each.
  for (const [field, at] of [['epoch', text.indexOf('"epoch":2') + 8], ['stepInEpoch', text.indexOf('"stepInEpoch":5') + 14]] as const) {
    const b = Buffer.from(good);
    b[at] = (b[at] as number) ^ 1;
    await writeFile(file, b);
    await assert.rejects(loadCheckpoint(file), (e) => isTrainerError(e, 'E_CHECKPOINT'), field);
  }
  let refused = 0;
  for (let i = 0; i < good.length; i++) {
    const b = Buffer.from(good);
    b[i] = (b[i] as number) ^ (1 << (i % 8));
    await writeFile(file, b);
    try {
      await loadCheckpoint(file);
    } catch (e) {
      if (isTrainerError(e, 'E_CHECKPOINT')) refused++;
      else throw e;
    }
  }
  assert.equal(refused, good.length, 'every flipped byte is refused');
  // The last 32 bytes are the sha256 of all the others.
  assert.deepEqual(good.subarray(-32), createHash('sha256').update(good.subarray(0, -32)).digest());
});
