import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import test from 'node:test';
import { chromiumSkip, launchChromium } from '../browser.js';
import { renderComparison } from '../../src/report/compare.js';
import { renderReport } from '../../src/report/html.js';
import { readRun } from '../../src/report/read-run.js';
import { tempDir } from '../helpers.js';
import { writeRun } from './written-run.js';

const skip = chromiumSkip("the report's");

/** The page's width, and the tables wider than the window that no box of their own scrolls (none should be). */
const PROBE = `(() => ({
  width: document.documentElement.scrollWidth,
  tables: [...document.querySelectorAll('table')].filter((t) => t.getBoundingClientRect().right > window.innerWidth && getComputedStyle(t.parentElement).overflowX !== 'auto').map((t) => t.id),
}))()`;

test('report.html and the comparison fit a 400 px wide window: their tables scroll inside the page (report.html was 795 px wide)', { skip }, async () => {
  const dir = await tempDir();
  const runDir = await writeRun(dir, { name: 'narrow', epochs: 3, stepsPerEpoch: 8 });
  const workers = ['thread-1', 'ws://gpu-box-number-one.example.org:7000'].map((worker) => ({ worker, backend: 'tensorflow-gpu', threads: 1, microBatches: 1234, examples: 123456, computeMs: 98765 }));
  await writeFile(join(runDir, 'workers.json'), `${JSON.stringify(workers)}\n`);
  const other = await writeRun(dir, { name: 'a-rather-long-run-name-number-2', epochs: 2, stepsPerEpoch: 8, config: { train: { batchSize: 32 } } });
  // A name with no hyphen or space to break at (the page's top line holds the run's folder; it ran off the side).
  const unbroken = await writeRun(dir, { name: 'cifar3x100epochsfromthearticlesvaluesonfourthreadsofthebigbox', epochs: 2, stepsPerEpoch: 8 });
  const report = join(dir, 'report.html');
  const unbrokenReport = join(dir, 'unbroken.html');
  const compare = join(dir, 'compare.html');
  await writeFile(report, renderReport(await readRun(runDir)));
  await writeFile(unbrokenReport, renderReport(await readRun(unbroken)));
  await writeFile(compare, renderComparison([await readRun(runDir), await readRun(other), await readRun(unbroken)]));

  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 400, height: 800 } });
    for (const file of [report, unbrokenReport, compare]) {
      await page.goto(pathToFileURL(file).href);
      const fit = (await page.evaluate(PROBE)) as { width: number; tables: string[] };
      assert.deepEqual(fit, { width: 400, tables: [] }, file);
    }
  } finally {
    await browser.close();
  }
});
