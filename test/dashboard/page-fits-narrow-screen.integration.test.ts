import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'node:test';
import { chromiumSkip, launchChromium } from '../browser.js';
import { dashboardCharts } from '../../src/dashboard/charts.js';
import { DASHBOARD_PAGE } from '../../src/dashboard/page.js';
import type { DashboardStatus } from '../../src/dashboard/state.js';

const skip = chromiumSkip("the dashboard's");

const worker = (name: string, address: string | null) => ({
  worker: name, backend: 'tensorflow-gpu', threads: 1, microBatches: 1234, examples: 123456, computeMs: 98765, imagesPerSec: 1250, lastWorkMsAgo: 120, address, lastHeartbeatMsAgo: 800,
});
const STATUS: DashboardStatus = {
  // A run name with no hyphen or space to break at: the page's title line ran off the side.
  run: 'cifar3x100epochsfromthearticlesvaluesonfourthreadsofthebigbox', epoch: 2, epochs: 3, step: 40, stepInEpoch: 8, stepsInEpoch: 16, workersAlive: 2, workersWanted: 2, imagesPerSec: 2500, loss: 1.2, smoothedLoss: 1.25,
  lossCurve: Array.from({ length: 40 }, (_, i) => [i + 1, 2 - i / 40] as [number, number]),
  epochsDone: [{ epoch: 1, step: 16, trainLoss: 1.5, runningAcc: 0.4, valLoss: 1.4, trainAcc: 0.45, valAcc: 0.44, imagesPerSec: 2400 }],
  etaSec: 30, evaluating: false, workers: [worker('ws-worker-on-gpu-box-1', '203.0.113.17:51234'), worker('thread-1', null)], backends: ['tensorflow-gpu'], finished: false, ended: null, uptimeSec: 20,
};

/** The page, status.json and /charts from STATUS, as the dashboard serves them; every path asked for is kept in `asked`. */
async function fakeDashboard(asked: string[]): Promise<{ url: string; close: () => void }> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    asked.push(path);
    const body = path === '/' ? DASHBOARD_PAGE : path === '/status.json' ? JSON.stringify(STATUS) : path === '/charts' ? dashboardCharts(STATUS) : null;
    res.writeHead(body === null ? 404 : 200, { 'content-type': path === '/status.json' ? 'application/json' : 'text/html; charset=utf-8' });
    res.end(body ?? 'not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, close: () => server.close() };
}

test('the dashboard fits a 400 px wide window (its Workers table made the page 713 px wide) and asks for no /favicon.ico (a 404 and a console error each load)', { skip }, async () => {
  const asked: string[] = [];
  const dashboard = await fakeDashboard(asked);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 400, height: 800 } });
    await page.goto(dashboard.url);
    await page.waitForFunction(`document.querySelectorAll('#workers tr.worker').length === 2 && document.querySelector('#charts svg') !== null`);
    // Time for a favicon request, which starts after the load.
    await page.waitForTimeout(300);
    assert.equal(await page.evaluate('document.documentElement.scrollWidth'), 400);
    assert.deepEqual(asked.filter((p) => p === '/favicon.ico'), []);
  } finally {
    await browser.close();
    dashboard.close();
  }
});
