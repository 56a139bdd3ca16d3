// Standard output that cannot be written, not closed by a reader: `trainer train > log` on a full
// disk (here /dev/full, whose every write is ENOSPC). The first epoch's line ended the process at
// once with E_IO, before that epoch's checkpoint: the run left metrics of an epoch and no
// checkpoint, and `--resume` was "nothing to resume; start it again".
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { CLI, smallConfigFile, trainer } from './cli-helpers.js';

test('stdout on a full device stops trainer train at the next step with a checkpoint, then E_IO, exit 1; --resume ends bit-identical', { skip: !existsSync('/dev/full') && 'no /dev/full here' }, async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const config = await smallConfigFile(dir, 'run', 3);
  // 2,000 images: 32 steps an epoch, so the failed write is met well before the run ends.
  const size = ['--data.synthetic.trainSize', '2000'];
  const whole = trainer(['train', '--config', config, '--run.name', 'whole', ...size]);
  assert.equal(whole.code, 0, whole.stderr);
  const wholeSha = /weights sha256 ([0-9a-f]{64})/.exec(whole.stdout)?.[1];
  assert.ok(wholeSha);

  const full = openSync('/dev/full', 'w');
  const r = spawnSync(process.execPath, [CLI, 'train', '--config', config, '--run.name', 'full', ...size], { stdio: ['ignore', full, 'pipe'], encoding: 'utf8', timeout: 120_000 });
  closeSync(full);
  assert.match(r.stderr, /standard output cannot be written \(ENOSPC\): stopping at the next step\n/);
  assert.match(r.stderr, /stopped at epoch \d+, step \d+; checkpoint written, continue with --resume\n/);
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('error '));
  assert.deepEqual(errors, ['error E_IO: cannot write standard output: ENOSPC; the run stopped at a step boundary, its checkpoint written: --resume continues it']);
  assert.equal(r.status, 1);
  assert.ok(existsSync(join(dir, 'runs', 'full', 'checkpoint', 'state.ckpt')));

  const resumed = trainer(['train', '--config', config, '--run.name', 'full', '--resume', ...size]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(/weights sha256 ([0-9a-f]{64})/.exec(resumed.stdout)?.[1], wholeSha);
});
