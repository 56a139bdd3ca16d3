import assert from 'node:assert/strict';
import test from 'node:test';
import { saveCheckpoint } from '../../src/coordinator/checkpoint.js';
import { resolveRunConfig } from '../../src/coordinator/run-config.js';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { tempDir } from '../helpers.js';
import { sampleCheckpoint } from './checkpoint-fixtures.js';

test("--resume takes --data.md5 with a mirror's --data.url, as eval does: the md5 checks a download, the checkpoint's data hash pins the images (it was E_CHECKPOINT \"data.md5 differs\")", async () => {
  const dir = await tempDir();
  const stored = await sampleCheckpoint(dir, false);
  await saveCheckpoint(RunFolder.of(stored.config).checkpointFile, stored);
  const md5 = '0123456789abcdef0123456789abcdef';
  const url = 'https://mirror.example/cifar-10-binary.tar.gz';
  const config = await resolveRunConfig({ overrides: { run: stored.config.run, data: { url, md5 } }, resume: true, log: () => {} });
  assert.equal(config.data.md5, md5);
  assert.equal(config.data.url, url);
});
