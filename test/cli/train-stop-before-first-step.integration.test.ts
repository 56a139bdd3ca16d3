import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { constants, existsSync } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { serve } from '../data/fixtures.js';
import { pidsWith, tempDir } from '../helpers.js';
import { spawnMain, waitFor } from '../transports/ws/helpers.js';
import { CLI, smallConfigFile } from './cli-helpers.js';


test('a signal during the CIFAR download stops at once with 128 + its number, as a signal death (Ctrl-C 130, SIGTERM 143, SIGHUP 129; all were 130; a SIGUSR1, a request, 130): the download is dropped, nothing trained, no checkpoint', { timeout: 120_000 }, async (t) => {
  const dir = await tempDir();
  // 64 KB of a 160 MB archive, then nothing more: only a stop ends this download (the idle timeout is a minute).
  const server = await serve((_req, res) => {
    res.writeHead(200, { 'content-length': 160_000_000 });
    res.write(Buffer.alloc(65_536));
  });
  t.after(server.close);
  for (const [signal, status] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129], ['SIGUSR1', 130]] as const) {
    const config = await smallConfigFile(dir, `fetching-${signal}`);
    const data = join(dir, 'cifar');
    const requests = server.requests.length;
    const train = spawnMain(['train', '-c', config, '--data.source', 'cifar10', '--data.path', data, '--data.download', 'true', '--data.url', server.url('/cifar.tar.gz')]);
    t.after(() => train.child.kill('SIGKILL'));
    await waitFor('the download to start', async () => server.requests.length > requests && (await readdir(data).catch(() => [])).length > 0);
    const t0 = performance.now();
    train.child.kill(signal);
    assert.equal(await train.exited, status, `${signal}: ${train.output()}`);
    assert.ok(performance.now() - t0 < 5000, `${signal}: took ${Math.round(performance.now() - t0)} ms`);
    assert.equal(train.output().match(/^stopped while downloading the data; nothing trained yet, no checkpoint written$/gm)?.length, 1, train.output());
    assert.doesNotMatch(train.output(), /error E_/);
    assert.equal(existsSync(data), false, 'neither the archive nor a partial download is left, nor the folder made for them');
    const folder = new RunFolder(join(dir, 'runs', `fetching-${signal}`));
    assert.equal(await folder.hasCheckpoint(), false);
    assert.equal(existsSync(folder.dir), false, 'nothing written: the run folder it made is gone');
  }
});

test('Ctrl-C while --procs workers start stops with exit 130 within seconds, and no worker process is left', { skip: !existsSync('/proc/self') && 'no /proc here', timeout: 90_000 }, async (t) => {
  const dir = await tempDir();
  const config = await smallConfigFile(dir, 'starting');
  const train = spawnMain(['train', '-c', config, '--procs', '2']);
  t.after(() => train.child.kill('SIGKILL'));
  let url = '';
  await waitFor('the coordinator to listen', () => {
    url = /coordinator listening on (ws:\/\/[\d.:]+);/.exec(train.output())?.[1] ?? '';
    return url !== '';
  });
  const t0 = performance.now();
  train.child.kill('SIGINT');
  assert.equal(await train.exited, 130, train.output());
  assert.ok(performance.now() - t0 < 10_000, `took ${Math.round(performance.now() - t0)} ms`);
  assert.match(train.output(), /^stopped while waiting for workers; nothing trained yet, no checkpoint written$/m);
  assert.doesNotMatch(train.output(), /error E_/);
  assert.deepEqual(pidsWith(`--connect ${url}`), [], 'every worker process has ended');
  assert.equal(existsSync(join(dir, 'runs')), false, 'nothing written: the folders it made (runs/starting and runs/) are gone');
});

test('SIGTERM the moment the run folder is claimed stops with exit 143 and leaves no folder (it was 143 by the signal, with the lock left behind)', { timeout: 60_000 }, async (t) => {
  const dir = await tempDir();
  const config = await smallConfigFile(dir, 'claimed');
  const lock = join(dir, 'runs', 'claimed', 'run.lock');
  const train = spawnMain(['train', '-c', config]);
  t.after(() => train.child.kill('SIGKILL'));
  // A tight wait: the window between the claim and the data is short.
  const deadline = Date.now() + 30_000;
  while (!existsSync(lock) && train.child.exitCode === null && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  assert.ok(existsSync(lock), train.output());
  train.child.kill('SIGTERM');
  assert.equal(await train.exited, 143, train.output());
  assert.match(train.output(), /^stopped before the first step; nothing trained yet, no checkpoint written$/m);
  assert.equal(existsSync(join(dir, 'runs')), false, train.output());
});

test('a signal while the command starts (reading its config, before it takes signals over) says so in one line and ends by that signal as before (exit 143 for SIGTERM), writing nothing; it ended with not a word', { skip: spawnSync('mkfifo', ['--version']).error !== undefined && 'no mkfifo', timeout: 60_000 }, async (t) => {
  const dir = await tempDir();
  for (const [command, signal] of [['train', 'SIGTERM'], ['coordinator', 'SIGINT'], ['coordinator', 'SIGHUP']] as const) {
    // A config from a pipe (as bash's `-c <(...)` gives) that nothing writes yet: the command waits in its start.
    const fifo = join(dir, `${command}-${signal}.yaml`);
    spawnSync('mkfifo', [fifo]);
    const run = spawnMain([command, '--config', fifo, '--run.dir', join(dir, 'runs')]);
    t.after(() => run.child.kill('SIGKILL'));
    // Opening the pipe to write returns once the command has opened it to read.
    const writer = open(fifo, 'w');
    const timer = setTimeout(() => void open(fifo, constants.O_RDONLY | constants.O_NONBLOCK).then((fh) => fh.close()), 30_000); // unblocks the open if the command never reads
    const fh = await writer;
    clearTimeout(timer);
    run.child.kill(signal);
    // Ended by the signal, as before: a shell and a scheduler see 128 + its number.
    const [code, by] = await new Promise<[number | null, NodeJS.Signals | null]>((r) => (run.child.exitCode !== null || run.child.signalCode !== null ? r([run.child.exitCode, run.child.signalCode]) : run.child.once('exit', (c, s) => r([c, s]))));
    assert.deepEqual([code, by], [null, signal], run.output());
    assert.equal(run.output(), `stopped by ${signal} while starting; nothing written\n`);
    await fh.close();
  }
  assert.equal(existsSync(join(dir, 'runs')), false);
});

test('once a run is over (its model saved), signals exit with the status the run has, not as killed (143: Node sets the default actions back while it ends)', { timeout: 60_000 }, async () => {
  const dir = await tempDir();
  const config = await smallConfigFile(dir, 'over', 1);
  for (let i = 0; i < 3; i++) {
    const child = spawn(process.execPath, [CLI, 'train', '--config', config, '--run.name', `over-${i}`], { stdio: ['ignore', 'pipe', 'ignore'] });
    let every: NodeJS.Timeout | null = null;
    // A scheduler's SIGTERM, every 2 ms from the moment the model is saved until the process is gone.
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      if (every === null && /model saved to /.test(s)) every = setInterval(() => child.kill('SIGTERM'), 2);
    });
    const [code, signal] = await new Promise<[number | null, string | null]>((r) => child.once('exit', (c, sig) => r([c, sig])));
    if (every) clearInterval(every);
    assert.deepEqual([code, signal], [0, null], `run ${i}`);
  }
});
