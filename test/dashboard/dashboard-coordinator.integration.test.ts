import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { chromiumSkip, launchChromium } from '../browser.js';
import { tempDir } from '../helpers.js';
import { TOKEN, freePort, killAll, spawnMain, spawnWorker, waitFor, wsConfig, type Spawned } from '../transports/ws/helpers.js';

const skip = chromiumSkip("the dashboard's");

test('the dashboard on a real coordinator\'s port sees a real worker process join (address, backend) and the step advance, and never shows the token', { skip }, async () => {
  const dir = await tempDir();
  // Long enough to be watched; stopped with SIGINT once seen.
  const config = wsConfig(dir, 'watched', { train: { epochs: 50 }, data: { synthetic: { trainSize: 1000, valSize: 100 } } });
  const file = join(dir, 'config.yaml');
  await writeFile(file, JSON.stringify(config));
  const port = await freePort();
  const procs: Spawned[] = [];
  const browser = await launchChromium();
  try {
    const coordinator = spawnMain(['coordinator', '--config', file, '--port', String(port), '--min-workers', '1'], { TRAINER_TOKEN: TOKEN });
    procs.push(coordinator);
    await waitFor('the dashboard line', () => coordinator.output().includes(`dashboard on http://127.0.0.1:${port}/`));
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForFunction('document.getElementById("state").textContent.startsWith("waiting for workers")', undefined, { timeout: 10_000 });
    assert.equal(await page.locator('#workers tr.worker').count(), 0);
    assert.equal(await page.textContent('#speed'), '–', 'no images/s before a step has run (it said 0)');

    procs.push(spawnWorker(`127.0.0.1:${port}`, dir, 'watched-worker'));
    await page.waitForFunction('document.querySelectorAll("#workers tr.worker").length === 1', undefined, { timeout: 30_000 });
    const cells = await page.locator('#workers tr.worker td').allTextContents();
    assert.match(cells[0] ?? '', /^w\d+-[0-9a-f]{4} watched-worker$/);
    assert.match(cells[1] ?? '', /^127\.0\.0\.1:\d+$/, 'the worker\'s address');
    assert.equal(cells[2], 'wasm', 'the worker\'s backend');
    assert.match(cells[7] ?? '', /^\d+\.\d s ago$/, 'its last heartbeat');

    const step = async () => Number(await page.textContent('#step'));
    await page.waitForFunction('Number(document.getElementById("step").textContent) > 0', undefined, { timeout: 30_000 });
    const first = await step();
    await page.waitForFunction(`Number(document.getElementById('step').textContent) > ${first}`, undefined, { timeout: 30_000 });
    assert.ok((await step()) > first, 'the step advanced without a reload');
    assert.ok(Number((await page.locator('#workers tr.worker td').allTextContents())[3]) > 0, 'micro-batches done');
    await page.waitForFunction('document.querySelector("#chart-loss polyline[data-series=loss]")', undefined, { timeout: 10_000 });
    assert.equal(await page.textContent('#workers-count'), '1 of 2', 'cluster.workers 2, started with --min-workers 1');
    assert.ok(!(await page.content()).includes(TOKEN), 'the page never holds the token');
    assert.ok(!(await (await fetch(`http://127.0.0.1:${port}/status.json`)).text()).includes(TOKEN));

    // The page is shown the stop before the workers' port, and the dashboard with it, closes.
    coordinator.child.kill('SIGINT');
    await page.waitForFunction('document.getElementById("state").textContent === "stopped (a checkpoint to resume from)"', undefined, { timeout: 30_000 });
    assert.equal(await coordinator.exited, 130, coordinator.output());
  } finally {
    await browser.close();
    killAll(procs);
  }
});
