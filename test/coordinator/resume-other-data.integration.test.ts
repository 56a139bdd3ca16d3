import assert from 'node:assert/strict';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { loadCheckpoint, saveCheckpoint } from '../../src/coordinator/checkpoint.js';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { runTraining } from '../../src/coordinator/run.js';
import { isTrainerError } from '../../src/shared/errors.js';
import { createInProcessPool } from '../../src/transports/in-process.js';
import { quietLog, smallConfig, tempDir } from '../helpers.js';

const SET = 'synthetic-1-300-200';
const config = (dir: string, path: string, epochs: number) =>
  smallConfig(dir, { run: { name: 'r' }, data: { path, synthetic: { trainSize: 300 } }, train: { epochs } });
const resume = (dir: string, path: string, epochs: number) =>
  runTraining({ config: config(dir, path, epochs), resume: true, createPool: createInProcessPool, log: quietLog });

test('a resume that reads other images than the run trained on is refused; the same images elsewhere are taken', async () => {
  const dir = await tempDir();
  await runTraining({ config: config(dir, join(dir, 'data'), 1), resume: false, createPool: createInProcessPool, log: quietLog });
  const checkpoint = new RunFolder(join(dir, 'runs', 'r')).checkpointFile;

  // A copy of the same files in another place (a mirror, a scratch disk): data.path may change.
  await cp(join(dir, 'data', SET), join(dir, 'mirror', SET), { recursive: true });
  const moved = await resume(dir, join(dir, 'mirror'), 2);
  assert.equal(moved.outcome, 'finished');

  // The same config, one label changed: it trained on, silently (mid-epoch it took the old set's steps).
  await cp(join(dir, 'data', SET), join(dir, 'other', SET), { recursive: true });
  const batch = join(dir, 'other', SET, 'cifar-10-batches-bin', 'data_batch_1.bin');
  const bytes = await readFile(batch);
  bytes[0] = ((bytes[0] as number) + 1) % 10;
  await writeFile(batch, bytes);
  const before = await readFile(checkpoint);
  await assert.rejects(resume(dir, join(dir, 'other'), 3), (e) => {
    assert.ok(isTrainerError(e, 'E_CHECKPOINT'), String(e));
    assert.match(e.message, /the data read from .*other.* \(300 training and 200 validation images, sha256 [0-9a-f]{12}…\) is not the data it trained on \(300 training and 200 validation images, sha256 [0-9a-f]{12}…\)/);
    return true;
  });
  assert.deepEqual(await readFile(checkpoint), before, 'the checkpoint is untouched');

  // A checkpoint written before the data was stored in it resumes as it did, unchecked.
  const { data: _data, ...old } = await loadCheckpoint(checkpoint);
  await saveCheckpoint(checkpoint, old);
  assert.equal((await resume(dir, join(dir, 'other'), 3)).outcome, 'finished');
});
