import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { CLI, smallConfigFile } from './cli-helpers.js';

test("SIGUSR1 never opens Node's inspector (port 9229, open to any local user): a worker ignores it, and keeps retrying", async () => {
  const child = spawn(process.execPath, [CLI, 'worker', '--connect', '127.0.0.1:9', '--retry-for-ms', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  try {
    for (let i = 0; i < 100 && !/retrying until it answers/.test(out); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(out, /retrying until it answers/);
    child.kill('SIGUSR1');
    await new Promise((r) => setTimeout(r, 1000));
    assert.doesNotMatch(out, /Debugger listening/, out);
    assert.equal(child.exitCode, null, 'still running');
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
});

test('SIGUSR1 stops trainer train at the next step with a checkpoint; neither another one nor a SIGTERM after it quits at once (the batch script passes on, as SIGUSR1, a SIGTERM that may have come already)', async () => {
  const dir = await tempDir();
  const config = await smallConfigFile(dir, 'run', 4);
  const child = spawn(process.execPath, [CLI, 'train', '--config', config, '--run.name', 'usr1', '--data.synthetic.trainSize', '2000'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let step = 0;
  const onData = (s: string) => {
    out += s;
    // One at a time, in order: pending signals are not delivered in the order sent.
    if (step === 0 && /Epoch 1,/.test(out)) {
      step = 1;
      child.kill('SIGUSR1');
    } else if (step === 1 && /SIGUSR1: stopping at the next step\n/.test(out)) {
      step = 2;
      child.kill('SIGTERM');
      child.kill('SIGUSR1');
    }
  };
  child.stdout.setEncoding('utf8').on('data', onData);
  child.stderr.setEncoding('utf8').on('data', onData);
  const guard = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  clearTimeout(guard);
  assert.equal(code, 130, out);
  assert.match(out, /stopped at epoch \d+, step \d+; checkpoint written, continue with --resume/);
  assert.doesNotMatch(out, /Debugger listening/);
});

test('a SIGUSR1 that comes while the command line still loads is kept for the stop handler, and opens no inspector', () => {
  // In a process of its own: the module as main.ts imports it, a SIGUSR1, then what a stop handler would be told.
  const noInspector = new URL('../../src/cli/no-inspector.js', import.meta.url).href;
  const code = `const m = await import(${JSON.stringify(noInspector)}); process.kill(process.pid, 'SIGUSR1'); setTimeout(() => { console.log(m.takeEarlyUsr1(), m.takeEarlyUsr1()); process.kill(process.pid, 'SIGUSR1'); setTimeout(() => {}, 300); }, 300);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'true false\n', 'remembered once');
  assert.doesNotMatch(r.stderr, /Debugger listening/, 'neither before nor after it was taken');
});
