import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { resolveConfig } from '../../src/shared/config-file.js';
import { tempDir } from '../helpers.js';
import { expectFailures, smallConfigFile, trainer, trainUntilInterrupted } from './cli-helpers.js';

const shaOf = (out: string) => /weights sha256 ([0-9a-f]{64})/.exec(out)?.[1];

test('--auto-resume: the same command line starts the run, resumes it after a stop, and says it is finished after its end, all in one folder', async () => {
  const dir = await tempDir();
  const config = await smallConfigFile(dir, 'run', 4);
  // 1,200 images: 19 steps an epoch, so the signal lands well before the run ends.
  const size = ['--data.synthetic.trainSize', '1200'];
  const whole = trainer(['train', '--config', config, '--run.name', 'whole', ...size]);
  assert.equal(whole.code, 0, whole.stderr);
  const wholeSha = shaOf(whole.stdout);
  assert.ok(wholeSha);

  // What a scheduler runs, every time: one command line.
  const line = ['train', '--config', config, '--run.name', 'exp', '--auto-resume', ...size];
  const first = await trainUntilInterrupted(line);
  assert.equal(first.code, 130, first.stderr);
  assert.doesNotMatch(first.stderr, /resuming/);
  assert.match(first.stderr, /checkpoint written/);

  const again = trainer(line);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, new RegExp(`${join(dir, 'runs', 'exp')} has a checkpoint: resuming it \\(--auto-resume\\)`));
  assert.match(again.stderr, /resuming .* at epoch \d+ of 4, step \d+/);
  assert.equal(shaOf(again.stdout), wholeSha, 'bit-identical to the run never stopped');

  const done = trainer(line);
  assert.equal(done.code, 0, done.stderr);
  assert.match(done.stdout, /already finished its 4 epochs/);
  assert.equal(existsSync(join(dir, 'runs', 'exp-2')), false, 'never a numbered folder');
  // It said "raise train.microBatches", which a resume refuses.
  expectFailures([[['train', '--config', config, '--run.name', 'exp', '--resume', '--train.epochs', '5', '--threads', '5'], `error E_CONFIG: ${join(dir, 'runs', 'exp')} takes at most 4 workers, got 5: its steps are 4 micro-batches (train.microBatches, fixed for the run)\n`]]);
});

test('--auto-resume starts in the named folder even when a run killed before its first checkpoint left files there (eval says there is nothing to finish); refuses a model without a checkpoint', async () => {
  const dir = await tempDir();
  const config = await smallConfigFile(dir, 'run', 1);
  const killed = join(dir, 'runs', 'early');
  await mkdir(killed, { recursive: true });
  await writeFile(join(killed, 'config.json'), `${JSON.stringify(await resolveConfig(config, { run: { name: 'early' } }))}\n`);
  // Nothing to resume: said so (it was "check --run.name").
  expectFailures([[['train', '--config', config, '--run.name', 'early', '--resume'], `error E_CHECKPOINT: ${killed} holds a run stopped before its first checkpoint: nothing to resume; start it again without --resume (--auto-resume does either)\n`]]);
  // Nothing to evaluate, and nothing to finish (it was a bare ENOENT of model.json).
  const early = trainer(['eval', killed]);
  assert.equal(early.stderr, `error E_MODEL: ${killed} has no model: its run stopped before its first checkpoint, so there is nothing to resume; train it again\n`);
  assert.equal(early.code, 2);
  const r = trainer(['train', '--config', config, '--run.name', 'early', '--auto-resume']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`${killed} holds a run killed in its first epoch: nothing to resume, so this run starts it again there`));
  assert.match(r.stdout, new RegExp(`model saved to ${join(killed, 'model')}`));
  assert.equal(existsSync(join(dir, 'runs', 'early-2')), false);

  // A finished run whose checkpoint was deleted: nothing to continue, and not to be overwritten.
  await rm(join(killed, 'checkpoint'), { recursive: true });
  expectFailures([
    [
      ['train', '--config', config, '--run.name', 'early', '--auto-resume'],
      `error E_CHECKPOINT: ${killed} holds a finished model but no checkpoint: --auto-resume has nothing to continue and will not overwrite it; choose another --run.name\n`,
    ],
    // It said "stopped before its first checkpoint … start it again without --resume", which went to early-2.
    [['train', '--config', config, '--run.name', 'early', '--resume'], `error E_CHECKPOINT: ${killed} holds a finished model but no checkpoint: nothing to resume (to train on, a new run: another --run.name)\n`],
    [
      ['train', '--config', config, '--resume', '--auto-resume'],
      'error E_USAGE: --resume and --auto-resume: give one of them (--auto-resume resumes when the run has a checkpoint, else starts it)\n',
    ],
    [
      ['coordinator', '--config', config, '--resume', '--auto-resume'],
      'error E_USAGE: --resume and --auto-resume: give one of them (--auto-resume resumes when the run has a checkpoint, else starts it)\n',
    ],
  ]);
});
