import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { coordinatorUrl, parseBackend, parseThreads, readCa } from '../../src/cli/worker.js';
import { flagOverrides } from '../../src/cli/train.js';
import { parseGpuList } from '../../src/shared/gpu-backends.js';
import { workerArgv } from '../../src/transports/ws/launch.js';
import type { PoolContext } from '../../src/transports/pool.js';
import { isTrainerError } from '../../src/shared/errors.js';
import { smallConfig } from '../helpers.js';

test('--connect takes HOST:PORT, [v6]:PORT or a ws/wss URL', () => {
  assert.equal(coordinatorUrl('10.0.0.5:9000'), 'ws://10.0.0.5:9000');
  assert.equal(coordinatorUrl('gpu-box:9000'), 'ws://gpu-box:9000');
  assert.equal(coordinatorUrl('[::1]:9000'), 'ws://[::1]:9000');
  assert.equal(coordinatorUrl('wss://c.example:443'), 'wss://c.example:443');
  // With --ca: TLS.
  assert.equal(coordinatorUrl('gpu-box:9000', true), 'wss://gpu-box:9000');
  assert.equal(coordinatorUrl('wss://c.example:443', true), 'wss://c.example:443');
  assert.throws(() => coordinatorUrl('ws://c.example:9000', true), (e: unknown) => isTrainerError(e, 'E_USAGE') && /--ca is trust for TLS/.test(e.message));
  // The ws:// ones were E_INTERNAL "Invalid URL" from the socket library; port 0 was retried.
  // And HOST:PORT forms whose host no URL takes: E_INTERNAL "Invalid URL" from the socket library.
  for (const bad of ['9000', 'host', 'host:99999', 'host:port', 'http://x:1', 'host:0', 'ws://', 'ws://h:70000', 'ws://h:abc', 'ws://[::1', 'ws://h:1#frag', 'ws://h:0', 'wss://u:p@h:1', '[zz]:9136', '[1::2::3]:9136', 'ho%st:9136', 'a|b:9136', 'a<b:9136']) {
    assert.throws(() => coordinatorUrl(bad), (e: unknown) => isTrainerError(e, 'E_USAGE'), bad);
  }
});

test('--connect with an IPv6 address out of brackets says to put it in brackets (it said only HOST:PORT)', () => {
  for (const bare of ['::1:9000', 'fd00::5:9000']) {
    assert.throws(
      () => coordinatorUrl(bare),
      (e: unknown) => isTrainerError(e, 'E_USAGE') && e.message === `--connect must be HOST:PORT, ws://HOST:PORT or wss://HOST:PORT (an IPv6 address goes in brackets: [fd00::5]:9000), got ${JSON.stringify(bare)}`,
      bare,
    );
  }
  assert.equal(coordinatorUrl('[fd00::5]:9000'), 'ws://[fd00::5]:9000');
});

test('--connect says what is wrong with each malformed form, in one E_USAGE line (many had the general line alone, or the IPv6 hint)', () => {
  const V6 = ' (an IPv6 address goes in brackets: [fd00::5]:9000)';
  const PORT = ' (a port from 1 to 65535)';
  const CREDENTIALS = ' (no user:password@: the token goes in --token or TRAINER_TOKEN)';
  const cases: [string, string][] = [
    ['', ' (it is empty)'],
    ['  ', ' (it is empty)'],
    ['h:', ' (no port after the colon)'],
    ['[::1]:', ' (no port after the colon)'],
    [':9000', ' (no host before the colon)'],
    ['h', ' (no port)'],
    ['9000', " (a port alone: give the coordinator's host too, HOST:9000)"],
    ['[::1]', ' (no port)'],
    ['h:1:2', ' (one colon, before the port; an IPv6 address goes in brackets: [fd00::5]:9000)'],
    ['host:port:extra', ' (one colon, before the port; an IPv6 address goes in brackets: [fd00::5]:9000)'],
    ['fd00::5:9000', V6],
    ['[fd00::5]9000', ' (a colon between the ] and the port: [fd00::5]:9000)'],
    ['h:0', PORT],
    ['h:65536', PORT],
    ['[::1]:99999', PORT],
    ['h:abc', PORT],
    ['h:+9000', PORT],
    ['h :9000', ' (no spaces)'],
    [' h:9000', ' (no spaces)'],
    ['h:9000/x', ' (a path goes in a URL: ws://HOST:PORT/PATH)'],
    ['u:p@h:9000', CREDENTIALS],
    ['u@h:9000', CREDENTIALS],
    ['http://h:9000', " (the scheme is ws:// or wss://, not http://: the coordinator's port speaks WebSocket)"],
    ['HTTPS://h:9000', " (the scheme is ws:// or wss://, not HTTPS://: the coordinator's port speaks WebSocket)"],
    ['ws:/h:9000', ' (a URL starts ws:// or wss://)'],
    ['ws:h:9000', ' (a URL starts ws:// or wss://)'],
    ['ws://', ' (no host)'],
    ['wss://', ' (no host)'],
    ['ws://:9000', ' (no host)'],
    ['ws://h:', ' (no port after the colon)'],
    ['ws://h:0', PORT],
    ['ws://h:65536', PORT],
    ['ws://h:abc', PORT],
    ['ws://::1:9000', V6],
    ['ws://h:9000:1', ' (one colon, before the port; an IPv6 address goes in brackets: [fd00::5]:9000)'],
    ['ws://[::1]x:9000', ' (a colon between the ] and the port: [fd00::5]:9000)'],
    ['ws://u:p@h:9000', CREDENTIALS],
    ['ws://h:9000#top', ' (no #fragment)'],
    ['ws://h:9000/a b', ' (no spaces)'],
  ];
  for (const [connect, why] of cases) {
    assert.throws(
      () => coordinatorUrl(connect),
      (e: unknown) => isTrainerError(e, 'E_USAGE') && e.message === `--connect must be HOST:PORT, ws://HOST:PORT or wss://HOST:PORT${why}, got ${JSON.stringify(connect)}`,
      connect,
    );
  }
  // A ws(s) URL keeps its own forms: no port (the scheme's, 80 or 443, as behind an ingress), a path, a query.
  const taken: [string, string][] = [
    ['ws://h', 'ws://h'],
    ['wss://h', 'wss://h'],
    ['ws://h:9000/p', 'ws://h:9000/p'],
    ['ws://h:9000/?x=1', 'ws://h:9000/?x=1'],
    ['ws://[::1]:9000', 'ws://[::1]:9000'],
    ['ws://[::1]', 'ws://[::1]'],
    ['h:1', 'ws://h:1'],
    ['h:65535', 'ws://h:65535'],
    ['ws:9000', 'ws://ws:9000'],
  ];
  for (const [connect, url] of taken) assert.equal(coordinatorUrl(connect), url, connect);
});

test('--backend is checked; --gpus is a list of device indices', () => {
  assert.equal(parseBackend('wasm'), 'wasm');
  assert.equal(parseBackend(undefined), undefined);
  assert.throws(() => parseBackend('cuda'), (e: unknown) => isTrainerError(e, 'E_USAGE'));
  assert.deepEqual(parseGpuList('0,1'), [0, 1]);
  assert.deepEqual(parseGpuList(' 2 '), [2]);
  for (const bad of ['', '0,', 'a', '-1', '0;1']) assert.throws(() => parseGpuList(bad), (e: unknown) => isTrainerError(e, 'E_USAGE'), bad);
});

test('--procs N sets transport procs and N workers', () => {
  assert.deepEqual(flagOverrides({ procs: 3 }, {}), { cluster: { transport: 'procs', workers: 3 } });
  assert.throws(() => flagOverrides({ procs: 0 }, {}), (e: unknown) => isTrainerError(e, 'E_USAGE'));
  // Two ways to run the workers: neither wins silently.
  assert.throws(() => flagOverrides({ procs: 2, threads: 2 }, {}), (e: unknown) => isTrainerError(e, 'E_USAGE'));
});

test('--gpus 0,1 sets cluster.gpus; each local worker process then gets its own --gpu, round-robin; without, the run backend', () => {
  assert.deepEqual(flagOverrides({ procs: 2, gpus: '0,1' }, {}), { cluster: { transport: 'procs', workers: 2, gpus: [0, 1] } });
  assert.throws(() => flagOverrides({ gpus: '0;1' }, {}), (e: unknown) => isTrainerError(e, 'E_USAGE'));
  const config = smallConfig('/tmp/x');
  const ctx = (gpus: number[], gpu: number | null = null) => ({ config: { ...config, gpu, cluster: { ...config.cluster, gpus } } }) as PoolContext;
  const gpuOf = (argv: string[]) => argv[argv.indexOf('--gpu') + 1];
  assert.equal(gpuOf(workerArgv('ws://127.0.0.1:1', ctx([0, 1]), 0, {})), '0');
  assert.equal(gpuOf(workerArgv('ws://127.0.0.1:1', ctx([0, 1]), 1, {})), '1');
  assert.equal(gpuOf(workerArgv('ws://127.0.0.1:1', ctx([0, 1]), 2, {})), '0');
  const plain = workerArgv('ws://127.0.0.1:1', ctx([]), 0, {});
  assert.ok(!plain.includes('--gpu'));
  assert.equal(plain[plain.indexOf('--backend') + 1], 'wasm');
  assert.equal(gpuOf(workerArgv('ws://127.0.0.1:1', ctx([], 3), 1, {})), '3');
  // The token never appears on a command line (ps shows those): it goes in the environment.
  assert.ok(!plain.some((a) => a.includes('token')));
});

test('cluster.gpus in a config file is a list of device indices', async () => {
  const { DEFAULT_CONFIG } = await import('../../src/shared/config.js');
  const { mergeConfig } = await import('../../src/shared/config-values.js');
  const { validateConfig } = await import('../../src/shared/config-validate.js');
  const withGpus = (gpus: unknown) => validateConfig(mergeConfig(structuredClone(DEFAULT_CONFIG), { cluster: { transport: 'procs', gpus } }));
  assert.deepEqual(withGpus([1, 0]).cluster.gpus, [1, 0]);
  for (const bad of [[-1], ['0'], 1, [0.5]]) {
    assert.throws(() => withGpus(bad), (e: unknown) => isTrainerError(e, 'E_CONFIG') && /cluster\.gpus/.test(e.message), JSON.stringify(bad));
  }
});

test('--ca must be a readable file of PEM certificates: E_USAGE otherwise (a missing file was E_INTERNAL, a non-PEM one was taken)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'trainer-ca-'));
  try {
    const junk = join(dir, 'junk.pem');
    await writeFile(junk, 'not a certificate\n');
    const pem = join(dir, 'ca.pem');
    await writeFile(pem, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    assert.equal(readCa(pem).toString().startsWith('-----BEGIN CERTIFICATE-----'), true);
    for (const [file, re] of [[join(dir, 'missing.pem'), /cannot read it: no such file or folder \(ENOENT\)$/m], [dir, /cannot read it: a folder, not a file \(EISDIR\)$/m], [junk, /holds no PEM certificate/]] as const) {
      assert.throws(() => readCa(file), (e: unknown) => isTrainerError(e, 'E_USAGE') && re.test(e.message), file);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('--threads is a plain decimal count or auto (0x2 and 1e1 were taken as 2 and 10)', () => {
  assert.equal(parseThreads('3'), 3);
  for (const bad of ['0x2', '1e1', ' 2', '2.0', '0', '1025', '']) {
    assert.throws(() => parseThreads(bad), (e: unknown) => isTrainerError(e, 'E_USAGE'), bad);
  }
});
