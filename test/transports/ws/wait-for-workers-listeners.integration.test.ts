import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import test from 'node:test';
import { isTrainerError } from '../../../src/shared/errors.js';
import { tempDir } from '../../helpers.js';
import { killAll, spawnMain, startBarePool, TOKEN, waitFor } from './helpers.js';

test('waiting for workers keeps one abort listener on the stop signal however many join (one piled up per join: MaxListenersExceededWarning at the 10th)', async () => {
  const dir = await tempDir();
  const { pool, url } = await startBarePool(dir);
  const stop = new AbortController();
  const workers = [0, 1, 2].map((i) =>
    spawnMain(['worker', '--connect', url.replace(/^ws:\/\//, ''), '--backend', 'wasm', '--name', `w${i}`, '--retry-for-ms', '15000'], {
      TRAINER_TOKEN: TOKEN,
      TRAINER_CACHE_DIR: `${dir}/cache/w${i}`,
      TRAINER_WARMUP_STEPS: '0',
    }),
  );
  try {
    const waiting = pool.waitForWorkers(4, stop.signal);
    waiting.catch(() => {}); // asserted below
    await waitFor('3 workers ready', () => pool.size === 3, 60_000);
    await new Promise((r) => setTimeout(r, 50)); // the wait's next pass has begun
    assert.equal(getEventListeners(stop.signal, 'abort').length, 1, 'the pending pass only');
    stop.abort();
    await assert.rejects(waiting, (e) => isTrainerError(e, 'E_NO_WORKERS'));
    assert.equal(getEventListeners(stop.signal, 'abort').length, 0);
  } finally {
    killAll(workers);
    await pool.close();
  }
});
