// One client holding the token that joined and left in a loop (one connection at a time) made the
// coordinator log 1,500 lines a second ("leaves: bye", "left while joining"), 270 MB an hour.
// Lines about joins that end before the worker is ready are now told as they come up to a burst,
// then counted and told as one line an interval; a worker that joins after it is logged as ever.
import assert from 'node:assert/strict';
import test from 'node:test';
import type { Message, MessageOf } from '../../../src/transports/ws/protocol.js';
import { tempDir } from '../../helpers.js';
import { TOKEN, rawWorker, startBarePool, visit, waitFor } from './helpers.js';

/** Authenticates as `name`, then on the welcome leaves ('leave'), or claims the dataset with a forged proof ('proof'); resolves when closed. */
function joinAndQuit(url: string, name: string, how: 'leave' | 'proof'): Promise<void> {
  const then = (w: MessageOf<'welcome'>): Message =>
    how === 'leave' ? { type: 'leave', reason: 'bye' } : { type: 'ready', sha256: w.dataset.sha256, backend: 'wasm', proof: new Uint8Array(32) };
  return visit(url, TOKEN, then, name);
}

test('300 joins that end before the worker is ready give at most a burst of lines and one line with the rest of the count; a worker joining after them is logged in full', async () => {
  const { pool, url, lines } = await startBarePool(await tempDir());
  try {
    for (let i = 0; i < 150; i++) await joinAndQuit(url, 'looper', 'leave');
    for (let i = 0; i < 150; i++) await joinAndQuit(url, 'prover', 'proof');
    const about = () => lines.filter((l) => /\((looper|prover)\)/.test(l));
    assert.ok(about().length <= 20, `${about().length} lines:\n${about().slice(0, 30).join('\n')}`);
    assert.ok(about().length >= 2, about().join('\n'));
    await pool.close();
    // What was held back is told with its count when the pool closes (or when the interval ends).
    const last = about().at(-1) as string;
    const held = /\(and (\d+) more such lines about joins that did not finish, held back\)/.exec(last);
    assert.ok(held, last);
    // Each visit made two lines ("leaves" and "left while joining", or "claims the dataset" and "left while joining").
    assert.equal(about().length - 1 + Number(held[1]) + 1, 600, about().join('\n'));
  } finally {
    await pool.close();
  }
});

test('a worker that joins after such a flood is logged as ever: its "ready" and, when it goes, its "gone"', async () => {
  const { pool, url, lines } = await startBarePool(await tempDir());
  try {
    for (let i = 0; i < 50; i++) await joinAndQuit(url, 'looper', 'leave');
    const w = await rawWorker(url, 'honest');
    await waitFor('honest ready', () => lines.some((l) => /\(honest, backend wasm\) ready/.test(l)), 5000);
    w.ws.terminate();
    await waitFor('honest gone', () => lines.some((l) => /\(honest\) gone \(1006/.test(l)), 5000);
  } finally {
    await pool.close();
  }
});
