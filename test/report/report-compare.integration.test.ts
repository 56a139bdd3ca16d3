import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { runTraining } from '../../src/coordinator/run.js';
import { renderReport } from '../../src/report/html.js';
import { readRun } from '../../src/report/read-run.js';
import { createInProcessPool } from '../../src/transports/in-process.js';
import { trainer } from '../cli/cli-helpers.js';
import { quietLog, smallConfig, tempDir } from '../helpers.js';

/** The vertices of the polyline drawn for `series`. */
const vertices = (html: string, series: string) => (new RegExp(`<polyline class="line" data-series="${series}"[^>]* points="([^"]+)"`).exec(html)?.[1] ?? '').split(' ').filter(Boolean).length;

test('report.html draws loss per step with epoch marks; trainer report --run A --run B overlays two runs and lists how their configs differ', async () => {
  const dir = await tempDir();
  // 300 examples, batch 64: 5 steps an epoch, 2 epochs, a steps.jsonl line every step.
  const run = (name: string, lr: number) =>
    runTraining({
      config: smallConfig(dir, { run: { name }, data: { synthetic: { trainSize: 300 } }, train: { lr }, log: { everySteps: 1 } }),
      resume: false,
      createPool: createInProcessPool,
      log: quietLog,
    });
  await run('a', 0.05);
  await run('b', 0.01);
  const [a, b] = [join(dir, 'runs', 'a'), join(dir, 'runs', 'b')];

  const html = renderReport(await readRun(a));
  assert.equal(vertices(html, 'loss'), 10, 'the smoothed loss: one vertex per step');
  assert.equal(vertices(html, 'loss-raw'), 10, 'the loss as logged, under it');
  assert.equal(html.match(/<line class="mark"/g)?.length, 2, 'a mark where each epoch ended');
  assert.match(html, />step</);

  const out = join(dir, 'compare.html');
  const both = trainer(['report', '--run', a, '--run', b, '--out', out]);
  assert.equal(both.code, 0, both.stderr);
  assert.equal(both.stdout, `${out}\n`);
  const page = await readFile(out, 'utf8');
  assert.doesNotMatch(page, /<script|<link|url\(/i, 'self-contained');
  assert.equal(vertices(page, 'run0'), 10);
  assert.equal(vertices(page, 'run1'), 10);
  assert.equal(page.match(/<tr class="run">/g)?.length, 2);
  const differences = [...page.matchAll(/<tr class="difference"><td>([^<]+)<\/td><td>([^<]+)<\/td><td>([^<]+)<\/td>/g)].map((m) => m.slice(1));
  assert.deepEqual(differences, [['train.lr', '0.05', '0.01']], 'only the learning rate differs (names aside)');
});
