import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import test from 'node:test';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TraceEvent } from '../../src/cli/trace.js';
import { loadCheckpoint } from '../../src/coordinator/checkpoint.js';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { tempDir } from '../helpers.js';
import { CLI, smallConfigFile } from './cli-helpers.js';

/**
 * `trainer train` on the in-process transport, SIGINT `delayMs` after the first
 * epoch line; resolves with its exit code, output, and how long after the
 * signal the stop note came.
 */
function interruptMidEpoch(args: string[], delayMs: number, signal: NodeJS.Signals = 'SIGINT'): Promise<{ code: number | null; out: string; noteMs: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let sentAt = 0;
    let noteMs = Infinity;
    const guard = setTimeout(() => child.kill('SIGKILL'), 120_000);
    const onData = (s: string) => {
      out += s;
      if (sentAt === 0 && /Epoch 1,/.test(out)) {
        sentAt = -1;
        setTimeout(() => {
          sentAt = performance.now();
          child.kill(signal);
        }, delayMs);
      }
      if (sentAt > 0 && noteMs === Infinity && /stopping at the next step/.test(out)) noteMs = performance.now() - sentAt;
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(guard);
      resolve({ code, out, noteMs });
    });
  });
}

test('Ctrl-C on the in-process transport stops within a second at the next step, mid-epoch, with a checkpoint at that step and exit code 130', async () => {
  const dir = await tempDir();
  const config = await smallConfigFile(dir, 'cut', 2);
  // 3,200 images: 50 steps an epoch. No steps.jsonl writes in the epoch, so nothing but the step loop itself yields.
  const traceFile = join(dir, 'trace.json');
  const args = ['--config', config, '--data.synthetic.trainSize', '3200', '--log.everySteps', '1000', '--trace', traceFile];
  const stopped = await interruptMidEpoch(['train', ...args], 200);
  assert.equal(stopped.code, 130, stopped.out);
  assert.ok(stopped.noteMs < 1000, `the stop note came ${Math.round(stopped.noteMs)} ms after SIGINT`);
  const step = Number(/stopped at epoch \d+, step (\d+); checkpoint written, continue with --resume/.exec(stopped.out)?.[1]);
  assert.ok(step > 50 && step < 100, `stopped at step ${step}: inside epoch 2, not at its end`);
  const checkpoint = await loadCheckpoint(new RunFolder(join(dir, 'runs', 'cut')).checkpointFile);
  assert.deepEqual([checkpoint.globalStep, checkpoint.epoch, checkpoint.stepInEpoch], [step, 1, step - 50], 'the checkpoint is at that step');
  // Its --trace, written as it went, is whole JSON with every step it took.
  const trace = JSON.parse(await readFile(traceFile, 'utf8')) as TraceEvent[];
  assert.deepEqual(trace.filter((e) => e.name === 'step').map((e) => e.args?.step), [...Array(step).keys()]);
  // (That a resumed run then ends bit-identical is train-sigint-resume's and coordinator/resume's to show.)
});

test('SIGHUP (the terminal or SSH session went away) stops the same way, with a checkpoint, instead of losing the epoch in progress', async () => {
  const dir = await tempDir();
  const config = await smallConfigFile(dir, 'hup', 2);
  const stopped = await interruptMidEpoch(['train', '--config', config, '--data.synthetic.trainSize', '3200', '--log.everySteps', '1000'], 200, 'SIGHUP');
  assert.equal(stopped.code, 130, stopped.out);
  const step = Number(/stopped at epoch \d+, step (\d+); checkpoint written, continue with --resume/.exec(stopped.out)?.[1]);
  const checkpoint = await loadCheckpoint(new RunFolder(join(dir, 'runs', 'hup')).checkpointFile);
  assert.equal(checkpoint.globalStep, step);
});

test('with --quiet a stop prints nothing (it printed "stopping at the next step"); the checkpoint is written all the same', async () => {
  const { spawnMain, waitFor } = await import('../transports/ws/helpers.js');
  const { existsSync } = await import('node:fs');
  const dir = await tempDir();
  const config = await smallConfigFile(dir, 'hush', 50);
  const run = spawnMain(['train', '--config', config, '--quiet']);
  try {
    const checkpoint = new RunFolder(join(dir, 'runs', 'hush')).checkpointFile;
    await waitFor('a first checkpoint', () => existsSync(checkpoint));
    run.child.kill('SIGINT');
    assert.equal(await run.exited, 130);
    assert.equal(run.output(), '');
    assert.ok((await loadCheckpoint(checkpoint)).globalStep > 0);
  } finally {
    run.child.kill('SIGKILL');
  }
});
