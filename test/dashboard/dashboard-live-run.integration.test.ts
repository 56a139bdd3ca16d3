import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'node:test';
import { chromium } from 'playwright-core';
import { runTraining } from '../../src/coordinator/run.js';
import { hostCheck } from '../../src/dashboard/host-check.js';
import { dashboardHandler } from '../../src/dashboard/http.js';
import { DashboardState } from '../../src/dashboard/state.js';
import { threadPoolFactory } from '../../src/transports/threads/pool.js';
import { quietLog, smallConfig, tempDir } from '../helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent: install Debian's chromium (apt-get install -y chromium) to run the dashboard's browser test`;
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

test('the dashboard page, loaded during a real run, sees a worker appear and the step advance; /metrics and /healthz answer', { skip }, async () => {
  const dir = await tempDir();
  const config = smallConfig(dir, {
    data: { synthetic: { trainSize: 2000, valSize: 100, seed: 1 } },
    train: { epochs: 4, batchSize: 32, microBatches: 2 },
    cluster: { transport: 'threads', workers: 2 },
  });
  const state = new DashboardState(config.run.name, config.train.epochs);
  const handle = dashboardHandler(state, hostCheck('127.0.0.1'));
  const server = createServer((req, res) => {
    if (!handle(req, res)) res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  const training = runTraining({
    config,
    resume: false,
    createPool: threadPoolFactory(),
    log: quietLog,
    onStep: state.onStep,
    onEpoch: state.onEpoch,
    onStepTiming: state.onStepTiming,
  });
  try {
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    const step = async () => Number(await page.textContent('#step'));
    await page.waitForFunction('document.querySelectorAll("#workers tr.worker").length > 0', undefined, { timeout: 30_000 });
    const first = await step();
    await page.waitForFunction(`Number(document.getElementById('step').textContent) > ${first}`, undefined, { timeout: 30_000 });
    assert.ok((await step()) > first, 'the step advanced without a reload');
    assert.match((await page.textContent('#workers tbody tr.worker td')) ?? '', /^thread-\d$/);
    assert.notEqual(await page.getAttribute('#loss-line', 'points'), '', 'the loss curve is drawn');

    const metrics = await fetch(`${base}/metrics`);
    assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await metrics.text();
    assert.match(text, /^# TYPE trainer_steps_total counter$/m);
    assert.match(text, /^trainer_steps_total [1-9]\d*$/m);
    assert.match(text, /^trainer_worker_micro_batches_total\{worker="thread-\d"\} [1-9]\d*$/m);
    assert.equal(await (await fetch(`${base}/healthz`)).text(), 'ok\n');
    assert.equal((await fetch(`${base}/nothing`)).status, 404, 'other paths are left to the host server');
  } finally {
    await training;
    await browser.close();
    server.close();
  }
  assert.equal(state.snapshot().finished, true);
});
