import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { referenceSha, spawnMain, wsConfig } from '../transports/ws/helpers.js';

test('trainer train --procs 2 runs two local worker processes and matches the in-process weights', async () => {
  const dir = await tempDir();
  const config = wsConfig(dir, 'procs', { cluster: { transport: 'local', workers: 1 } });
  const expected = await referenceSha(config);
  const file = join(dir, 'config.yaml');
  await writeFile(file, JSON.stringify(config));
  const run = spawnMain(['train', '--config', file, '--procs', '2'], { TRAINER_CACHE_DIR: join(dir, 'cache') });
  assert.equal(await run.exited, 0, run.output());
  const out = run.output();
  assert.match(out, /listening on ws:\/\/127\.0\.0\.1:\d+/);
  assert.equal(out.match(/ready; \d workers/g)?.length, 2);
  assert.equal(/weights sha256 ([0-9a-f]{64})/.exec(out)?.[1], expected);
});
