import assert from 'node:assert/strict';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { TOKEN, spawnWorker, startBarePool } from '../transports/ws/helpers.js';

test("a worker whose --token is refused says the token was --token's, over TRAINER_TOKEN: told to give both the same TRAINER_TOKEN, whose was right, the operator looked in the wrong place", async () => {
  const dir = await tempDir();
  const { pool, url } = await startBarePool(dir);
  try {
    // TRAINER_TOKEN is the coordinator's; a stale --token overrides it.
    const flag = spawnWorker(url, dir, 'flag', ['--token', 'stale-token-0123456789'], TOKEN);
    assert.equal(await flag.exited, 2, flag.output());
    assert.match(flag.output(), /error E_AUTH: .* rejected our token: it holds another one \(or none\); give both the same token \(this worker's is its --token, which overrides TRAINER_TOKEN\)/);
    const env = spawnWorker(url, dir, 'env', [], 'stale-token-0123456789');
    assert.equal(await env.exited, 2, env.output());
    assert.match(env.output(), /rejected our token: it holds another one \(or none\); give both the same TRAINER_TOKEN$/m);
  } finally {
    await pool.close();
  }
});
