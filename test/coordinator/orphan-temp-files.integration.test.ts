import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { runTraining } from '../../src/coordinator/run.js';
import { createInProcessPool } from '../../src/transports/in-process.js';
import type { PoolFactory } from '../../src/transports/pool.js';
import { smallConfig, tempDir } from '../helpers.js';

test('temporary files of a write killed midway are removed when a run starts, those of a live process are not', async () => {
  const dir = await tempDir();
  const config = smallConfig(dir, { run: { name: 'orphans' }, train: { epochs: 1 }, data: { synthetic: { trainSize: 128, valSize: 64 } } });
  const folder = RunFolder.of(config);
  await mkdir(join(folder.dir, 'checkpoint'), { recursive: true });
  await mkdir(folder.modelDir, { recursive: true });
  // A pid no process has (above Linux's pid_max), and this process's own: both are leftovers.
  await writeFile(join(folder.dir, 'checkpoint', '.state.ckpt.99999999.0123abcd.tmp'), 'torn');
  await writeFile(join(folder.modelDir, `.weights.bin.${process.pid}.89abcdef.tmp`), 'torn');
  await writeFile(join(folder.dir, '.config.json.1.00000000.tmp'), 'pid 1 is running');
  await writeFile(join(folder.dir, 'notes.tmp'), 'not ours');
  const lines: string[] = [];
  await runTraining({ config, resume: false, createPool: createInProcessPool as PoolFactory, log: (l) => lines.push(l) });
  assert.deepEqual(await readdir(join(folder.dir, 'checkpoint')), ['state.ckpt']);
  assert.deepEqual((await readdir(folder.modelDir)).sort(), ['model.json', 'weights.bin']);
  const top = await readdir(folder.dir);
  assert.ok(top.includes('.config.json.1.00000000.tmp') && top.includes('notes.tmp'), top.join(' '));
  assert.ok(lines.some((l) => /removed 2 temporary file\(s\) of an interrupted write/.test(l)), lines.join('\n'));
});
