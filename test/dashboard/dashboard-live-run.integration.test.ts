import assert from 'node:assert/strict';
import test from 'node:test';
import { chromiumSkip, launchChromium } from '../browser.js';
import { smallConfigFile } from '../cli/cli-helpers.js';
import { tempDir } from '../helpers.js';
import { freePort, killAll, spawnMain, waitFor } from '../transports/ws/helpers.js';

const skip = chromiumSkip("the dashboard's");

/** Runs in the page (this project compiles without DOM types, so it is plain JavaScript). */
const CHART_PROBE = `(() => {
  const svg = document.getElementById('chart-loss');
  const box = svg.getBoundingClientRect();
  const texts = [...svg.querySelectorAll('text')].map((t) => t.textContent);
  const ticks = [...svg.querySelectorAll('text.ytick, text.xtick')].map((t) => t.getBoundingClientRect());
  const line = svg.querySelector('polyline[data-series="loss"]');
  return {
    hasAxes: texts.includes('step') && texts.includes('cross-entropy'),
    yTicks: svg.querySelectorAll('text.ytick').length,
    xTicks: svg.querySelectorAll('text.xtick').length,
    ticksInside: ticks.every((t) => t.left >= box.left - 1 && t.right <= box.right + 1 && t.top >= box.top - 1 && t.bottom <= box.bottom + 1),
    vertices: line ? line.points.numberOfItems : 0,
    marks: svg.querySelectorAll('line.mark').length,
  };
})()`;

test('trainer train --threads 2 --status-port: the page lists both threads as "2 of 2", draws the loss per step with axes and epoch marks, accuracy per epoch, images/s and an ETA', { skip }, async () => {
  const dir = await tempDir();
  // 2,000 images in batches of 64: 32 steps an epoch; stopped with SIGINT once seen.
  const config = await smallConfigFile(dir, 'watched', 20);
  const port = await freePort();
  const train = spawnMain(['train', '--config', config, '--threads', '2', '--data.synthetic.trainSize', '2000', '--status-port', String(port)]);
  const browser = await launchChromium();
  try {
    await waitFor('the dashboard line', () => train.output().includes(`dashboard on http://127.0.0.1:${port}/`));
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForFunction('document.querySelectorAll("#workers tr.worker").length === 2', undefined, { timeout: 30_000 });
    const names = await page.locator('#workers tr.worker td:first-child').allTextContents();
    assert.deepEqual(names.map((n) => n.replace(/\d+$/, 'N')), ['thread-N', 'thread-N'], 'the run\'s own threads are its workers');
    assert.equal(await page.textContent('#workers-count'), '2 of 2');

    const step = async () => Number(await page.textContent('#step'));
    await page.waitForFunction('Number(document.getElementById("step").textContent) > 0', undefined, { timeout: 30_000 });
    const first = await step();
    await page.waitForFunction(`Number(document.getElementById('step').textContent) > ${first}`, undefined, { timeout: 30_000 });
    assert.match((await page.textContent('#eta')) ?? '', /^\d+:\d\d$/, 'time left for the run');
    // The bar under "epoch N / M" is the epoch's progress, and says so (it read as the run's).
    assert.match((await page.textContent('#epoch-steps')) ?? '', /^this epoch: step \d+ of 32$/);
    assert.ok(Number(await page.textContent('#speed')) > 0, 'images/s');

    // After the first epoch: its mark on the loss chart, its accuracy, its row.
    await page.waitForFunction('document.querySelectorAll("#epochs-table tr.epoch").length >= 1 && document.querySelector("#chart-accuracy")', undefined, { timeout: 60_000 });
    await page.waitForFunction('document.querySelectorAll("#chart-loss line.mark").length >= 1', undefined, { timeout: 10_000 });
    const chart = (await page.evaluate(CHART_PROBE)) as { hasAxes: boolean; yTicks: number; xTicks: number; ticksInside: boolean; vertices: number; marks: number };
    assert.ok(chart.hasAxes, 'axis labels: step, cross-entropy');
    assert.ok(chart.yTicks >= 3 && chart.xTicks >= 2, `${chart.yTicks} y ticks, ${chart.xTicks} x ticks`);
    assert.ok(chart.ticksInside, 'tick labels drawn inside the chart');
    assert.ok(chart.vertices >= 32, `one vertex per step so far (${chart.vertices})`);
    assert.ok(await page.locator('#chart-accuracy circle[data-series="valAcc"]').count() >= 1, 'validation accuracy per epoch');
    assert.match((await page.textContent('#val-acc')) ?? '', /^\d\.\d{3} \(epoch \d+\)$/);

    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /^trainer_workers_wanted 2$/m);
    assert.match(metrics, /^trainer_eta_seconds \d+(\.\d+)?(e[-+]?\d+)?$/m);
    // The page says how the run ended (it froze on its last poll, then said "unreachable"): the
    // trainer serves it until an open page has been shown the end.
    train.child.kill('SIGINT');
    const state = (text: string) => `document.getElementById('state').textContent === ${JSON.stringify(text)}`;
    await page.waitForFunction(state('stopped (a checkpoint to resume from)'), undefined, { timeout: 30_000 });
    assert.equal(await train.exited, 130, train.output());
    await page.waitForFunction(state('stopped (a checkpoint to resume from); the trainer has exited'), undefined, { timeout: 10_000 });
    assert.equal(await page.textContent('#eta'), '–');
  } finally {
    await browser.close();
    killAll([train]);
  }
});
