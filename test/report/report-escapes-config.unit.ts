import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import test from 'node:test';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { renderComparison } from '../../src/report/compare.js';
import { renderReport } from '../../src/report/html.js';
import { readRun } from '../../src/report/read-run.js';
import { tempDir } from '../helpers.js';
import { writeRun } from './written-run.js';

/** The tags the report and the comparison page are made of: anything else came from the run folder. */
const OWN_TAGS = new Set(['html', 'head', 'meta', 'title', 'style', 'body', 'h1', 'h2', 'p', 'div', 'span', 'table', 'tr', 'th', 'td', 'pre', 'svg', 'text', 'rect', 'line', 'polyline', 'circle']);
const foreignTags = (html: string) => [...new Set([...html.matchAll(/<([a-zA-Z][\w-]*)/g)].map((m) => (m[1] as string).toLowerCase()))].filter((t) => !OWN_TAGS.has(t));

test('the report and the comparison page show a run folder\'s config.json as text: no tag of it is live (train.epochs "<img onerror=...>" was)', async () => {
  const dir = await tempDir();
  const folder = new RunFolder(await writeRun(dir, { name: 'theirs', epochs: 2, stepsPerEpoch: 5 }));
  const config = JSON.parse(await readFile(folder.configFile, 'utf8'));
  config.run.name = '<script>alert(1)</script>';
  config.train.epochs = '<img src=x onerror=alert(2)>';
  config.data.classes = ['<b>airplane</b>'];
  config['<i>key</i>'] = '<svg onload=alert(3)>';
  await writeFile(folder.configFile, JSON.stringify(config));
  const ours = await readRun(await writeRun(dir, { name: 'ours', epochs: 2, stepsPerEpoch: 5 }));
  const theirs = await readRun(folder.dir);

  const report = renderReport(theirs);
  assert.deepEqual(foreignTags(report), []);
  assert.match(report, / · 2 of \? epochs/, 'train.epochs that is not a number is not shown');
  assert.match(report, /<h1>trainer report: &lt;script&gt;alert\(1\)&lt;\/script&gt;<\/h1>/);
  assert.match(renderReport(ours), / · 2 of 2 epochs/);

  const comparison = renderComparison([ours, theirs]);
  assert.deepEqual(foreignTags(comparison), []);
  assert.match(comparison, /<td>train\.epochs<\/td><td>2<\/td><td>&quot;&lt;img src=x onerror=alert\(2\)&gt;&quot;<\/td>/);
});
