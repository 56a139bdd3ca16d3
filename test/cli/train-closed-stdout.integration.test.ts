import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { CLI, smallConfigFile, trainer } from './cli-helpers.js';

/** Runs the CLI with stdout read until its first line, then closed (as `| head -1` does); resolves with the exit code and stderr. */
function untilFirstLine(args: string[]): Promise<{ code: number | null; stderr: string; first: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let out = '';
    const guard = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      if (out.includes('\n')) child.stdout.destroy();
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(guard);
      resolve({ code, stderr, first: out.split('\n')[0] ?? '' });
    });
  });
}

test('stdout closed by its reader (| head -1) stops trainer train at the next step with a checkpoint, exit 141, no stack trace; --resume ends bit-identical', async () => {
  const dir = await tempDir();
  const config = await smallConfigFile(dir, 'run', 4);
  // 2,000 images: 32 steps an epoch, so the closed pipe is found well before the run ends.
  const size = ['--data.synthetic.trainSize', '2000'];
  const whole = trainer(['train', '--config', config, '--run.name', 'whole', ...size]);
  assert.equal(whole.code, 0, whole.stderr);
  const wholeSha = /weights sha256 ([0-9a-f]{64})/.exec(whole.stdout)?.[1];
  assert.ok(wholeSha);

  const cut = await untilFirstLine(['train', '--config', config, '--run.name', 'cut', ...size]);
  assert.match(cut.first, /Epoch 1, Training loss/);
  assert.equal(cut.code, 141, cut.stderr);
  assert.match(cut.stderr, /standard output was closed: stopping at the next step\n/);
  // The run's end is told where someone may still read it.
  assert.match(cut.stderr, /stopped at epoch \d+, step \d+; checkpoint written, continue with --resume\n/);
  assert.doesNotMatch(cut.stderr, /EPIPE|node:internal|\n {4}at /);
  assert.ok(existsSync(join(dir, 'runs', 'cut', 'checkpoint', 'state.ckpt')));

  const resumed = trainer(['train', '--config', config, '--run.name', 'cut', '--resume', ...size]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(/weights sha256 ([0-9a-f]{64})/.exec(resumed.stdout)?.[1], wholeSha);
});
