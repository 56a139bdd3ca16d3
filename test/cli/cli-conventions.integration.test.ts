import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { smallConfigFile, trainer } from './cli-helpers.js';

/** Help text with its line wrapping undone. */
const flat = (s: string) => s.replace(/\s+/g, ' ');

const VERSION = (JSON.parse(readFileSync(fileURLToPath(new URL('../../../package.json', import.meta.url)), 'utf8')) as { version: string }).version;

test('the CLI keeps the usual conventions: --version, -c, did you mean, errors pointing at the command\'s help, help that lists what matters', () => {
  const v = trainer(['--version']);
  assert.equal(v.code, 0);
  assert.equal(v.stdout, `${VERSION}\n`);

  const typo = trainer(['trian', '--config', 'x.yaml']);
  assert.equal(typo.code, 2);
  assert.equal(typo.stderr, 'error E_USAGE: unknown command "trian"; did you mean train? (see trainer --help)\n');

  // -c is --config: the file it names is the one read.
  const c = trainer(['train', '-c', '/nonexistent/short.yaml']);
  assert.equal(c.code, 2);
  assert.match(c.stderr, /^error E_CONFIG: cannot read config file \/nonexistent\/short\.yaml/);

  const missing = trainer(['eval']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /\(see trainer eval --help\)\n$/);
  assert.equal(missing.stderr.match(/see trainer/g)?.length, 1, 'pointed at the help once');

  const help = trainer(['train', '--help']);
  assert.equal(help.code, 0);
  const train = flat(help.stdout);
  assert.match(train, /-c, --config/);
  assert.match(train, /--threads/);
  assert.match(train, /--procs/);
  assert.match(train, /Environment: TRAINER_TOKEN/);
  assert.match(train, /the "Config reference" section of README\.md/);
  assert.match(flat(trainer(['--help']).stdout), /trainer train train on this machine: in-process, --threads N worker threads or --procs N worker processes/);
  assert.match(flat(trainer(['worker', '--help']).stdout), /--cache-dir dataset cache \(default \$TRAINER_CACHE_DIR/);
  const predict = flat(trainer(['predict', '--help']).stdout);
  assert.match(predict, /images +PNG or JPEG files/);
  assert.doesNotMatch(predict, /\[default: \[\]\]/);
});

test('a number option given a word or nothing, and --threads with --procs, are usage errors naming what was given; nothing runs', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'trainer-numbers-'));
  try {
    const config = await smallConfigFile(dir);
    const cases: [string[], string][] = [
      [['train', '-c', config, '--threads', 'abc'], 'error E_USAGE: --threads must be a number, got "abc" (see trainer train --help)\n'],
      [['train', '-c', config, '--procs=two'], 'error E_USAGE: --procs must be a number, got "two" (see trainer train --help)\n'],
      // Without a value, the run used to go on in-process, as if the flag had not been given.
      [['train', '-c', config, '--threads', '--quiet'], 'error E_USAGE: --threads needs a number (see trainer train --help)\n'],
      [['train', '-c', config, '--status-port', 'eighty'], 'error E_USAGE: --status-port must be a number, got "eighty" (see trainer train --help)\n'],
      [['coordinator', '-c', config, '--port', 'x'], 'error E_USAGE: --port must be a number, got "x" (see trainer coordinator --help)\n'],
      [['worker', '--connect', '127.0.0.1:9', '--gpu', 'first'], 'error E_USAGE: --gpu must be a number, got "first" (see trainer worker --help)\n'],
      [['train', '-c', config, '--threads', '2', '--procs', '2'], 'error E_USAGE: --threads and --procs are two ways to run the workers: give one of them\n'],
      // One letter: no "did you mean" (every other letter is as near), and a short flag is written with one dash.
      [['worker', '-c', config, '--connect', '127.0.0.1:9'], 'error E_USAGE: unknown option -c (see trainer worker --help)\n'],
    ];
    for (const [args, stderr] of cases) {
      const r = trainer(args);
      assert.equal(r.stderr, stderr, args.join(' '));
      assert.equal(r.code, 2, args.join(' '));
    }
    assert.equal(existsSync(join(dir, 'runs')), false, 'no run was started');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a run folder the file system refuses (under /proc) is E_IO at once: the run neither hangs nor spins', { skip: !existsSync('/proc/self') && 'no /proc here' }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'trainer-proc-'));
  try {
    const config = await smallConfigFile(dir);
    const r = trainer(['train', '-c', config, '--run.dir', '/proc/trainer-no-such']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'error E_IO: cannot write /proc/trainer-no-such/run: ENOENT\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a port in use is one E_CONFIG line saying so, for the workers\' port and the dashboard\'s (was an uncaught exception for the workers\' port)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'trainer-port-'));
  const taken = createServer();
  try {
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    const config = await smallConfigFile(dir);
    const workers = trainer(['coordinator', '-c', config, '--port', String(port)]);
    assert.equal(workers.stderr.split('\n').filter((l) => l.startsWith('error ')).join('\n'), `error E_CONFIG: cannot listen for workers on 127.0.0.1:${port}: port ${port} is in use (another coordinator or dashboard?): choose another port`);
    assert.doesNotMatch(workers.stderr, /at Server|node:events/, 'no stack trace');
    assert.equal(workers.code, 2);
    const dashboard = trainer(['train', '-c', config, '--status-port', String(port)]);
    assert.equal(dashboard.stderr, `error E_CONFIG: cannot serve the dashboard on 127.0.0.1:${port}: port ${port} is in use (another coordinator or dashboard?): choose another port\n`);
    assert.equal(dashboard.code, 2);
  } finally {
    taken.close();
    await rm(dir, { recursive: true, force: true });
  }
});
