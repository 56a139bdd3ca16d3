import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { resolveRunConfig } from '../../src/coordinator/run-config.js';
import { smallConfigFile, trainer } from '../cli/cli-helpers.js';
import { tempDir } from '../helpers.js';

test("a resume's note names the flag that changes a key only where a resume takes it (it suggested --train.lr, then refused it with E_CHECKPOINT)", async () => {
  const dir = await tempDir();
  const file = await smallConfigFile(dir, 'notes', 1);
  const first = trainer(['train', '-c', file, '--quiet']);
  assert.equal(first.code, 0, first.stderr);
  const other = join(dir, 'other.yaml');
  await writeFile(other, (await readFile(file, 'utf8')).replace('epochs: 1', 'epochs: 3').replace('lr: 0.05', 'lr: 0.04'));
  const lines: string[] = [];
  await resolveRunConfig({ file: other, overrides: {}, resume: true, log: (l) => lines.push(l) });
  assert.deepEqual(lines, [
    `note: ${other} sets train.epochs 3; the resumed run keeps its own 1 (--train.epochs 3 changes it)`,
    `note: ${other} sets train.lr 0.04; the resumed run keeps its own 0.05 (a run keeps its data, model and optimisation: it cannot change on resume)`,
  ]);
});
