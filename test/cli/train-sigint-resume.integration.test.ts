import assert from 'node:assert/strict';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { smallConfigFile, trainer, trainUntilInterrupted } from './cli-helpers.js';

test('Ctrl-C on trainer train --threads 2 checkpoints at the next step; --resume ends bit-identical to an uninterrupted run', async () => {
  const dir = await tempDir();
  const config = await smallConfigFile(dir, 'run', 4);
  // 2,000 images: 32 steps an epoch, so the signal lands well before the run ends.
  const size = ['--data.synthetic.trainSize', '2000'];
  const whole = trainer(['train', '--config', config, '--threads', '2', '--run.name', 'whole', ...size]);
  assert.equal(whole.code, 0, whole.stderr);
  const wholeSha = /weights sha256 ([0-9a-f]{64})/.exec(whole.stdout)?.[1];
  assert.ok(wholeSha);

  const stopped = await trainUntilInterrupted(['train', '--config', config, '--threads', '2', '--run.name', 'cut', ...size]);
  assert.equal(stopped.code, 130, stopped.stderr);
  assert.match(stopped.stderr, /stopped at epoch \d+, step \d+; checkpoint written, continue with --resume/);
  assert.doesNotMatch(stopped.stderr, /weights sha256/);
  // No model yet: eval says how to finish the run, not which file is missing.
  const early = trainer(['eval', '--run', join(dir, 'runs', 'cut')]);
  assert.equal(early.code, 2);
  // A stop, not a divergence: --resume is the way (eval-diverged-run: what a diverged run is told).
  assert.equal(early.stderr, `error E_MODEL: ${join(dir, 'runs', 'cut')} has no model yet: the run stopped before its end; finish it with trainer train --run.dir ${join(dir, 'runs')} --run.name cut --resume\n`);

  // A rescheduled coordinator pod (--auto-resume) that finds a damaged checkpoint on its volume exits 2,
  // which its Job fails on at once: it exited 1, as a bug does, and was started again until backoffLimit.
  const damaged = join(dir, 'runs', 'damaged');
  await cp(join(dir, 'runs', 'cut'), damaged, { recursive: true });
  const ckpt = join(damaged, 'checkpoint', 'state.ckpt');
  const bytes = await readFile(ckpt);
  const mid = bytes.length >> 1;
  bytes.writeUInt8(bytes.readUInt8(mid) ^ 0xff, mid);
  await writeFile(ckpt, bytes);
  const pod = trainer(['coordinator', '--config', config, '--run.name', 'damaged', '--auto-resume', '--port', '0', '--quiet']);
  assert.deepEqual([pod.code, pod.stderr], [2, `error E_CHECKPOINT: checkpoint ${ckpt} is unusable: checksum mismatch (damaged: restore it from a copy, or train the run again as a new run)\n`]);

  const resumed = trainer(['train', '--config', config, '--threads', '2', '--run.name', 'cut', '--resume', ...size]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /resuming .* at epoch \d+ of 4, step \d+/);
  assert.equal(/weights sha256 ([0-9a-f]{64})/.exec(resumed.stdout)?.[1], wholeSha);
});
