import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import { renderComparison, runLabels } from '../../src/report/compare.js';
import { readRun } from '../../src/report/read-run.js';
import { tempDir } from '../helpers.js';
import { writeRun } from './written-run.js';

test('runs of one name in different folders are told apart on the comparison by the last parts of their paths (three runs were each "demo")', async () => {
  const [a, b] = [await tempDir(), await tempDir()];
  const run = (dir: string, name: string) => writeRun(dir, { name, epochs: 1, stepsPerEpoch: 4 }).then(readRun);
  const demoA = await run(a, 'demo');
  const demoB = await run(b, 'demo');
  const other = await run(a, 'other');
  // a/runs/demo and b/runs/demo differ first in their temporary folders' names.
  const tmpName = (dir: string) => dir.split('/').filter(Boolean).at(-1) as string;
  const expected = [`${tmpName(a)}/runs/demo`, `${tmpName(b)}/runs/demo`, 'other'];
  assert.deepEqual(runLabels([demoA, demoB, other]), expected);
  const html = renderComparison([demoA, demoB, other]);
  const rows = [...html.matchAll(/<tr class="run"><td><span[^>]*>■<\/span> ([^<]*)/g)].map((m) => m[1]);
  assert.deepEqual(rows, expected);
  for (const label of expected) assert.ok(html.includes(`class="legend">${label}</text>`), `legend ${label}`);

  // One folder given twice: its name, numbered; a name used once stays as it is.
  assert.deepEqual(runLabels([demoA, other, demoA]), ['demo', 'other', 'demo #2']);
  // Both at once: the two folders told apart, the one given twice numbered.
  assert.deepEqual(runLabels([demoA, demoB, demoA]), [expected[0], expected[1], `${expected[0]} #2`]);
  assert.equal(join(a, 'runs', 'demo'), demoA.dir);
});
