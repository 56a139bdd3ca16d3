import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { expectFailures, smallConfigFile, trainer } from './cli-helpers.js';

test('a finished run whose checkpoint and model were deleted is described by what metrics.jsonl records, not as "stopped before its first checkpoint"', async () => {
  const dir = await tempDir();
  const config = await smallConfigFile(dir, 'done', 2);
  const first = trainer(['train', '--config', config]);
  assert.equal(first.code, 0, first.stderr);
  const run = join(dir, 'runs', 'done');
  await rm(join(run, 'checkpoint'), { recursive: true });
  await rm(join(run, 'model'), { recursive: true });
  const records = 'has no checkpoint and no model, though its metrics.jsonl records all 2 epochs of the run: nothing to resume';
  expectFailures([[['train', '--config', config, '--resume'], `error E_CHECKPOINT: ${run} ${records}; start it again without --resume (--auto-resume does either)\n`]]);
  const evaluated = trainer(['eval', run]);
  assert.equal(evaluated.stderr, `error E_MODEL: ${run} ${records}; train it again\n`);
  assert.equal(evaluated.code, 2);
  // Started again, as the line says: it says the same of what it starts over.
  const again = trainer(['train', '--config', config, '--auto-resume']);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, new RegExp(`${run} ${records}, so this run starts it again there`));
  assert.doesNotMatch(again.stderr, /before its first checkpoint/);
});

test('a run killed after its first checkpoint, that checkpoint deleted, is said to have records past it, with its epochs', async () => {
  const { spawnMain, waitFor } = await import('../transports/ws/helpers.js');
  const { RunFolder } = await import('../../src/coordinator/run-folder.js');
  const dir = await tempDir();
  const config = await smallConfigFile(dir, 'mid', 30);
  const run = join(dir, 'runs', 'mid');
  const folder = new RunFolder(run);
  const first = spawnMain(['train', '--config', config]);
  try {
    await waitFor('two epochs', async () => (await folder.readMetrics()).length >= 2);
  } finally {
    first.child.kill('SIGKILL');
    await first.exited;
  }
  await rm(join(run, 'checkpoint'), { recursive: true });
  const r = trainer(['train', '--config', config, '--resume']);
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    new RegExp(`^error E_CHECKPOINT: ${run} has no checkpoint and no model, though its metrics.jsonl records \\d+ of its 30 epochs, and its first checkpoint was due after epoch 1: nothing to resume; start it again without --resume \\(--auto-resume does either\\)\n$`),
  );
});
