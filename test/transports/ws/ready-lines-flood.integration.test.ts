// A client holding the token that got to ready and quit, in a loop (a crash-looping worker, a buggy
// client), made the coordinator log its "dataset sent", "ready" and "gone" lines each time: 150
// lines a second. Past a burst of such lines in an interval, the rest are counted and told as one
// line; a cluster's start and its faults stay under the burst and are logged as ever.
import assert from 'node:assert/strict';
import test from 'node:test';
import { tempDir } from '../../helpers.js';
import { rawWorker, startBarePool, waitFor } from './helpers.js';

const LOOPS = 150;

test(`${LOOPS} workers that get to ready and quit at once give at most a burst of lines and one line with the rest of the count`, async () => {
  const events = { ready: 0, gone: 0 };
  const { pool, url, lines } = await startBarePool(await tempDir(), {}, {
    onEvent: (e) => {
      if (e.kind === 'ready') events.ready++;
      if (e.kind === 'evicted') events.gone++;
    },
  });
  try {
    const t0 = performance.now();
    for (let i = 1; i <= LOOPS; i++) {
      const w = await rawWorker(url, 'looper');
      await waitFor(`ready ${i}`, () => events.ready === i, 5000);
      w.ws.terminate();
      await waitFor(`gone ${i}`, () => events.gone === i, 5000);
    }
    const seconds = (performance.now() - t0) / 1000;
    const about = () => lines.filter((l) => /\(looper[,)]/.test(l));
    const heldIn = (l: string) => Number(/\(and (\d+) more lines about workers ready and gone, held back\)/.exec(l)?.[1] ?? 0);
    // Three lines a loop: dataset sent, ready, gone; at most a burst told as they came (a slow
    // machine may take more than one interval: each then ends with one line of its count).
    assert.ok(about().filter((l) => heldIn(l) === 0).length <= 200, `${about().length} lines in ${seconds.toFixed(1)} s`);
    await pool.close();
    const last = about().at(-1) as string;
    assert.ok(heldIn(last) > 0, `${LOOPS} loops in ${seconds.toFixed(1)} s; the last line: ${last}`);
    assert.ok(about().length <= 200 + Math.ceil(seconds / 10) + 1, `${about().length} lines in ${seconds.toFixed(1)} s`);
    // None lost: the lines told and the counts of those held add up.
    assert.equal(about().reduce((n, l) => n + 1 + heldIn(l), 0), 3 * LOOPS, about().slice(-3).join('\n'));
  } finally {
    await pool.close();
  }
});
