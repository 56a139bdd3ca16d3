// A real `trainer worker --threads 2` is one row of workers.json that says it has 2 threads:
// its computeMs is summed over them, and the report and dashboard multiply its speed by them.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { RunFolder } from '../../../src/coordinator/run-folder.js';
import { tempDir } from '../../helpers.js';
import { killAll, trainWithWorkers, wsConfig, type Spawned } from './helpers.js';

test('workers.json stores the compute threads of a `trainer worker --threads 2`', async () => {
  const dir = await tempDir();
  const spawned = new Map<string, Spawned>();
  try {
    const config = wsConfig(dir, 'threads-stats', { cluster: { workers: 1 }, train: { epochs: 1, microBatches: 4 } });
    const r = await trainWithWorkers(config, dir, ['two'], spawned, {}, ['--threads', '2']);
    assert.equal(r.outcome, 'finished');
    const raw: unknown = JSON.parse(await readFile(join(r.runDir, 'workers.json'), 'utf8'));
    assert.ok(Array.isArray(raw) && raw.length === 1);
    assert.equal((raw[0] as { threads?: unknown }).threads, 2);
    const [row] = await new RunFolder(r.runDir).readWorkers();
    assert.match(row?.worker ?? '', /two \(2 threads\)$/);
    assert.equal(row?.threads, 2);
    assert.ok((row?.microBatches ?? 0) > 0 && (row?.computeMs ?? 0) > 0);
  } finally {
    killAll([...spawned.values()]);
  }
});
