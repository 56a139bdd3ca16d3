import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import test from 'node:test';
import { chromiumSkip, launchChromium } from '../browser.js';
import { parseMetrics } from '../../src/coordinator/run-folder.js';
import { smallConfigFile, trainer } from '../cli/cli-helpers.js';
import { tempDir } from '../helpers.js';

const skip = chromiumSkip("the report's");

interface Probe {
  series: Record<string, { points: number; line: number; inside: boolean; increasingX: boolean }>;
  finalTrain: string | undefined;
  finalVal: string | undefined;
  workers: number;
  config: string;
}

/** Runs in the page (this project compiles without DOM types, so it is plain JavaScript). */
const PROBE = `(() => {
  const series = {};
  for (const svg of document.querySelectorAll('svg.chart')) {
    const box = svg.getBoundingClientRect();
    for (const line of svg.querySelectorAll('polyline[data-series]')) {
      const name = line.getAttribute('data-series');
      const circles = [...svg.querySelectorAll('circle[data-series="' + name + '"]')].map((c) => c.getBoundingClientRect());
      series[svg.id + '/' + name] = {
        points: circles.length,
        line: line.points.numberOfItems,
        inside: circles.every((c) => c.width > 0 && c.left >= box.left && c.right <= box.right && c.top >= box.top && c.bottom <= box.bottom),
        increasingX: circles.every((c, i) => i === 0 || c.left > circles[i - 1].left),
      };
    }
  }
  return {
    series,
    finalTrain: document.querySelector('#final-train')?.textContent,
    finalVal: document.querySelector('#final-val')?.textContent,
    workers: document.querySelectorAll('#workers tr.worker').length,
    config: document.querySelector('#config')?.textContent ?? '',
  };
})()`;

test('report.html opens offline in headless Chromium with one drawn point per epoch and series', { skip }, async () => {
  const dir = await tempDir();
  // 3 epochs, evaluated after epochs 2 and 3 only: train/val accuracy and val loss have 2 points, the rest 3.
  const t = trainer(['train', '--config', await smallConfigFile(dir, 'rep', 3), '--eval.every', '2', '--threads', '2', '--quiet']);
  assert.equal(t.code, 0, t.stderr);
  const runDir = join(dir, 'runs', 'rep');
  const r = trainer(['report', runDir]);
  assert.equal(r.code, 0, r.stderr);
  const file = join(runDir, 'report.html');
  assert.equal(r.stdout, `${file}\n`);
  const html = await readFile(file, 'utf8');
  assert.doesNotMatch(html, /<script|<link|@import|url\(/i, 'self-contained: no scripts, stylesheets or fetched resources');
  const metrics = parseMetrics(await readFile(join(runDir, 'metrics.jsonl'), 'utf8'));
  assert.equal(metrics.length, 3);

  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const requests: string[] = [];
    page.on('request', (q) => requests.push(q.url()));
    await page.goto(pathToFileURL(file).href);
    const drawn = (await page.evaluate(PROBE)) as Probe;
    const expected: Record<string, number> = {
      'chart-loss/trainLoss': 3,
      'chart-loss/valLoss': 2,
      'chart-accuracy/runningAcc': 3,
      'chart-accuracy/trainAcc': 2,
      'chart-accuracy/valAcc': 2,
      'chart-speed/imagesPerSec': 3,
    };
    // Per-step series (steps.jsonl) are lines without dots: one vertex per line of the file.
    const steps = (await readFile(join(runDir, 'steps.jsonl'), 'utf8')).trim().split('\n').length;
    for (const key of ['chart-steps/loss', 'chart-steps/loss-raw']) {
      assert.equal(drawn.series[key]?.line, steps, `${key} vertices`);
      delete drawn.series[key];
    }
    assert.deepEqual(Object.keys(drawn.series).sort(), Object.keys(expected).sort());
    for (const [key, n] of Object.entries(expected)) {
      const s = drawn.series[key]!;
      assert.equal(s.points, n, `${key} points`);
      assert.equal(s.line, n, `${key} polyline vertices`);
      assert.ok(s.inside, `${key} points are drawn inside the chart`);
      assert.ok(s.increasingX, `${key} points go left to right by epoch`);
    }
    const last = metrics.at(-1)!;
    assert.equal(drawn.finalTrain, last.trainAcc!.toFixed(3));
    assert.equal(drawn.finalVal, last.valAcc!.toFixed(3));
    assert.equal(drawn.workers, 2);
    assert.match(drawn.config, /transport: threads/);
    assert.deepEqual(requests, [pathToFileURL(file).href], 'the page fetches nothing but itself');
  } finally {
    await browser.close();
  }
});
