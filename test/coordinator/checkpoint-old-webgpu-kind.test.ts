import assert from 'node:assert/strict';
import test from 'node:test';
import { loadCheckpoint, saveCheckpoint } from '../../src/coordinator/checkpoint.js';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { tempDir } from '../helpers.js';
import { sampleCheckpoint } from './checkpoint-fixtures.js';

test("a checkpoint of a build whose webgpu kinds ended in a dash reads them as this build's: a resume on the same adapter is not a mixed-backends run", async () => {
  const dir = await tempDir();
  const file = new RunFolder(dir).checkpointFile;
  const old = 'webgpu llvmpipe-llvm-15-0-6-256-bits-';
  await saveCheckpoint(file, { ...(await sampleCheckpoint(dir, false)), backends: { run: [old, 'wasm'], epoch: [old] } });
  const now = 'webgpu llvmpipe-llvm-15-0-6-256-bits';
  assert.deepEqual((await loadCheckpoint(file)).backends, { run: [now, 'wasm'], epoch: [now] });
});
