import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import type { TraceEvent } from '../../src/cli/trace.js';
import { tempDir } from '../helpers.js';
import { smallConfigFile, trainer } from './cli-helpers.js';

test('a new run whose name is taken goes to a fresh numbered folder and says so; the first run is left as it was', async () => {
  const dir = await tempDir();
  const config = await smallConfigFile(dir, 'demo', 1);
  const first = trainer(['train', '--config', config]);
  assert.equal(first.code, 0, first.stderr);
  const weights = join(dir, 'runs', 'demo', 'model', 'weights.bin');
  const before = await readFile(weights);

  const second = trainer(['train', '--config', config, '--train.lr', '0.01']);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /runs\/demo already holds a run \(--resume continues it\); this new run goes to .*runs\/demo-2$/m);
  assert.match(second.stdout, /model saved to .*runs\/demo-2\/model /);
  assert.deepEqual(await readFile(weights), before, 'the first run is untouched');
  const stored = JSON.parse(await readFile(join(dir, 'runs', 'demo-2', 'config.json'), 'utf8')) as { run: { name: string }; train: { lr: number } };
  assert.equal(stored.run.name, 'demo-2');
  assert.equal(stored.train.lr, 0.01);
});

test('a finished run whose checkpoint was deleted (to save space) is still a run: a new run of its name goes to a fresh folder', async () => {
  const dir = await tempDir();
  const config = await smallConfigFile(dir, 'kept', 1);
  assert.equal(trainer(['train', '--config', config]).code, 0);
  const weights = join(dir, 'runs', 'kept', 'model', 'weights.bin');
  const metrics = join(dir, 'runs', 'kept', 'metrics.jsonl');
  const before = [await readFile(weights), await readFile(metrics)];
  await rm(join(dir, 'runs', 'kept', 'checkpoint'), { recursive: true });

  // It took runs/kept again and wrote its own weights and metrics over the first run's.
  const second = trainer(['train', '--config', config, '--train.lr', '0.3']);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /runs\/kept already holds a run; this new run goes to .*runs\/kept-2$/m);
  assert.deepEqual([await readFile(weights), await readFile(metrics)], before, 'the first run is untouched');
});

test('a run killed before its first checkpoint left nothing to resume: the next run of its name starts it again in that folder (a rescheduled coordinator pod went to NAME-2, NAME-3, ... and never resumed)', async () => {
  const { spawnMain, waitFor } = await import('../transports/ws/helpers.js');
  const { RunFolder } = await import('../../src/coordinator/run-folder.js');
  const dir = await tempDir();
  const config = await smallConfigFile(dir, 'early', 30);
  const folder = new RunFolder(join(dir, 'runs', 'early'));
  const traceFile = join(dir, 'trace.json');
  const first = spawnMain(['train', '--config', config, '--checkpoint.every', '100', '--trace', traceFile]);
  try {
    await waitFor('two epochs', async () => (await folder.readMetrics()).length >= 2);
    first.child.kill('SIGKILL');
    await first.exited;
  } finally {
    first.child.kill('SIGKILL');
  }
  assert.equal(await folder.hasCheckpoint(), false);
  // Its --trace holds every step of the epochs it logged (it was written only at the end, so a
  // killed run left none): 320 images in batches of 64, 5 steps an epoch.
  const events = eventsOfKilledTrace(await readFile(traceFile, 'utf8'));
  const steps = events.filter((e) => e.name === 'step').map((e) => e.args?.step);
  assert.ok(steps.length >= 5, `${steps.length} steps in the trace`);
  assert.deepEqual(steps, [...steps.keys()], 'every step from the first, in order');
  assert.ok(events.some((e) => e.name === 'epoch 1'), 'the end of epoch 1');
  const again = trainer(['train', '--config', config, '--train.epochs', '2']);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /runs\/early holds \d+ epoch\(s\) of a run killed before its first checkpoint: nothing to resume, so this run starts it again there/);
  assert.match(again.stdout, /model saved to .*runs\/early\/model /);
  assert.deepEqual((await folder.readMetrics()).map((m) => m.epoch), [1, 2]);
});

/**
 * A killed process's trace (README, Timeline): whole JSON between its writes; one killed in the
 * middle of a write left its last line cut short and no closing `]`: that line is dropped.
 */
function eventsOfKilledTrace(text: string): TraceEvent[] {
  if (text.endsWith('\n]\n')) return JSON.parse(text) as TraceEvent[];
  const events: TraceEvent[] = [];
  // One event a line after the `[`: up to the first line that is not a whole one.
  for (const line of text.split('\n').slice(1)) {
    try {
      events.push(JSON.parse(line.replace(/,$/, '')) as TraceEvent);
    } catch {
      break;
    }
  }
  return events;
}
