import assert from 'node:assert/strict';
import test from 'node:test';
import { DashboardState } from '../../src/dashboard/state.js';

/** Whether `p` has settled by the time already-queued work has run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  return done;
}

test('at the end, the dashboard waits for an open page to be shown it (status, then charts), at once when no page is open, and at most its cap', async () => {
  let now = 0;
  const alone = new DashboardState('r', 3, () => now);
  alone.end('finished');
  assert.equal(await settled(alone.shown()), true, 'no page open: the server closes at once');

  const watched = new DashboardState('r', 3, () => now);
  watched.served('/status.json'); // a page polls
  now = 900;
  watched.end('stopped');
  assert.equal(watched.snapshot().ended, 'stopped');
  const shown = watched.shown(60_000);
  assert.equal(await settled(shown), false, 'the page has not seen the end yet');
  watched.served('/charts'); // charts of its poll from before the end
  assert.equal(await settled(shown), false);
  watched.served('/status.json');
  assert.equal(await settled(shown), false, 'its status, not yet its charts');
  watched.served('/charts');
  assert.equal(await settled(shown), true, 'shown the end');
  watched.end('failed');
  assert.equal(watched.snapshot().ended, 'stopped', 'the first end is the one');

  const gone = new DashboardState('r', 3, () => now);
  gone.served('/status.json');
  gone.end('failed');
  const t0 = performance.now();
  await gone.shown(100); // a page that stopped polling (its tab closed)
  assert.ok(performance.now() - t0 >= 90, 'waited its cap');

  const closed = new DashboardState('r', 3, () => now);
  closed.served('/status.json');
  now += 5_000; // its last poll long ago
  closed.end('finished');
  assert.equal(await settled(closed.shown()), true);
});
