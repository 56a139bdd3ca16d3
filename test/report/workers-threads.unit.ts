// workers.json holds each worker's compute threads: the report shows a 2-thread worker's
// images/s computing as its threads' together; a workers.json from before `threads` reads as 1.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { renderReport } from '../../src/report/html.js';
import { readRun } from '../../src/report/read-run.js';
import { tempDir } from '../helpers.js';
import { writeRun } from './written-run.js';

const speedCell = (html: string, worker: string) => html.match(new RegExp(`<tr class="worker"><td>${worker.replace(/[()]/g, '\\$&')}</td>.*<td>(\\d+)</td></tr>`))?.[1];

test("the report's images/s computing is a 2-thread worker's, and an old workers.json without threads reads as 1 thread", async () => {
  const dir = await tempDir();
  const runDir = await writeRun(dir, { name: 'threads', epochs: 1, stepsPerEpoch: 3 });
  const folder = new RunFolder(runDir);
  await folder.writeWorkers([
    { worker: '1 a (2 threads)', backend: 'wasm', threads: 2, microBatches: 10, examples: 1600, computeMs: 1000 },
    { worker: '2 b', backend: 'wasm', threads: 1, microBatches: 10, examples: 1600, computeMs: 1000 },
  ]);
  const run = await readRun(runDir);
  assert.deepEqual(run.workers.map((w) => w.threads), [2, 1]);
  const html = renderReport(run);
  assert.equal(speedCell(html, '1 a (2 threads)'), '3200');
  assert.equal(speedCell(html, '2 b'), '1600');
  assert.match(html, /compute s is summed over its threads/);

  // Written before workers.json had `threads` (nor `backend`).
  await writeFile(join(runDir, 'workers.json'), `${JSON.stringify([{ worker: 'thread-1', microBatches: 8, examples: 800, computeMs: 1000 }])}\n`);
  const old = await readRun(runDir);
  assert.deepEqual(old.workers, [{ worker: 'thread-1', backend: '?', threads: 1, microBatches: 8, examples: 800, computeMs: 1000 }]);
  assert.equal(speedCell(renderReport(old), 'thread-1'), '800');

  // A thread count that is not a positive integer: the row is not a workers.json row.
  await writeFile(join(runDir, 'workers.json'), JSON.stringify([{ worker: 'x', threads: 0, microBatches: 8, examples: 800, computeMs: 1000 }]));
  assert.deepEqual((await readRun(runDir)).workers, []);
});
