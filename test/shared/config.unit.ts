import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { extractConfigFlags, resolveConfig } from '../../src/shared/config-file.js';
import { DEFAULT_CONFIG, MAX_SYNTHETIC_IMAGES } from '../../src/shared/config.js';
import { validateConfig } from '../../src/shared/config-validate.js';
import { isTrainerError } from '../../src/shared/errors.js';

const withOverride = (o: object) => resolveConfig(undefined, o);

async function rejectsWith(p: Promise<unknown>, message: string | RegExp) {
  await assert.rejects(p, (err) => {
    assert.ok(isTrainerError(err, 'E_CONFIG'), `expected E_CONFIG, got ${String(err)}`);
    assert.equal(err.exitCode, 2);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

test('defaults validate', () => {
  assert.deepEqual(validateConfig(structuredClone(DEFAULT_CONFIG)), DEFAULT_CONFIG);
});

test('a bad value names the key path and quotes the value', async () => {
  await rejectsWith(withOverride({ train: { batchSize: -3 } }), 'train.batchSize must be a positive integer, got -3');
  await rejectsWith(withOverride({ train: { lr: 'fast' } }), 'train.lr must be a positive number, got "fast"');
  await rejectsWith(withOverride({ backend: 'tpu' }), /^backend must be one of auto, tensorflow-gpu, tensorflow, webgpu, wasm, cpu, got "tpu"$/);
  await rejectsWith(withOverride({ train: { epochs: 1.5 } }), 'train.epochs must be a positive integer, got 1.5');
  await rejectsWith(withOverride({ data: { classes: 'ship' } }), /^data\.classes must be a list of class names or null, got "ship"$/);
  // The names alone (--data.classes airplane,ship): YAML does not split a string.
  await rejectsWith(withOverride({ data: { classes: 'airplane,ship' } }), 'data.classes must be a list of class names or null, got "airplane,ship" (a YAML list: [airplane, ship])');
  await rejectsWith(withOverride({ data: { classes: 'airplane ship' } }), 'data.classes must be a list of class names or null, got "airplane ship" (a YAML list: [airplane, ship])');
});

test('run.name is one folder under run.dir: a path in it would put the run elsewhere, or its numbered folders inside it', async () => {
  for (const name of ['../escape', 'a/b', '/abs', 'a\\b', '.', '..']) {
    await rejectsWith(withOverride({ run: { name } }), `run.name must be a folder name, without / or \\ and not . or .. (run.dir says where run folders go), got ${JSON.stringify(name)}`);
  }
  for (const name of ['demo', 'demo-2', 'a.b', '..x', 'run 1']) assert.equal((await withOverride({ run: { name } })).run.name, name);
});

test('an unknown key is named with its path, and the nearest known key is suggested', async () => {
  await rejectsWith(withOverride({ train: { epoch: 3 } }), 'unknown config key train.epoch; did you mean train.epochs?');
  await rejectsWith(withOverride({ trian: {} }), 'unknown config key trian; did you mean train?');
  await rejectsWith(withOverride({ cluster: { tls: { crt: 'x' } } }), 'unknown config key cluster.tls.crt; did you mean cluster.tls.cert?');
  await rejectsWith(withOverride({ nothing: {} }), 'unknown config key nothing');
  // An empty key (YAML `"": 1`, or `~: 1`) was left out of the path: "unknown config key train", a known section.
  await rejectsWith(withOverride({ train: { '': 1 } }), 'unknown config key train.""');
  await rejectsWith(withOverride({ '': 1 }), 'unknown config key ""');
});

test('tfjs-node in several worker threads is a config error, before any data is read; one thread, or processes, are not', async () => {
  const message = /^backend (tensorflow|tensorflow-gpu) cannot run in more than one worker thread \(tfjs-node loads once per process\): use processes instead/;
  await rejectsWith(withOverride({ backend: 'tensorflow', cluster: { transport: 'threads', workers: 2 } }), message);
  await rejectsWith(withOverride({ backend: 'tensorflow-gpu', cluster: { transport: 'threads', workers: 2 } }), message);
  // auto was asked for, not tensorflow-gpu: the message says what auto would do and what to give instead.
  await rejectsWith(
    withOverride({ backend: 'auto', gpu: 0, cluster: { transport: 'threads', workers: 2 } }),
    /^--gpu 0 with 2 worker threads: backend auto would try tensorflow-gpu, which loads once per process; give --backend webgpu \(it runs in threads\), or use processes/,
  );
  assert.equal((await withOverride({ backend: 'tensorflow', cluster: { transport: 'threads', workers: 1 } })).backend, 'tensorflow');
  assert.equal((await withOverride({ backend: 'tensorflow', cluster: { transport: 'procs', workers: 2 } })).cluster.workers, 2);
  assert.equal((await withOverride({ backend: 'auto', cluster: { transport: 'threads', workers: 2 } })).backend, 'auto');
});

test('synthetic splits are capped at MAX_SYNTHETIC_IMAGES, said with the config (they failed while writing, out of memory)', async () => {
  const limit = `must be at most ${MAX_SYNTHETIC_IMAGES} (about 3 GB of images; CIFAR-10 has 50000 training images)`;
  await rejectsWith(withOverride({ data: { synthetic: { trainSize: 1e12 } } }), `data.synthetic.trainSize ${limit}, got 1000000000000`);
  await rejectsWith(withOverride({ data: { synthetic: { valSize: MAX_SYNTHETIC_IMAGES + 1 } } }), `data.synthetic.valSize ${limit}, got ${MAX_SYNTHETIC_IMAGES + 1}`);
  assert.equal((await withOverride({ data: { synthetic: { trainSize: MAX_SYNTHETIC_IMAGES } } })).data.synthetic.trainSize, MAX_SYNTHETIC_IMAGES);
});

test('more workers than micro-batches is a config error', async () => {
  await rejectsWith(withOverride({ cluster: { workers: 5 }, train: { microBatches: 4 } }), /cluster\.workers \(5\) must not exceed train\.microBatches \(4\)/);
});

test('more than one worker on the local transport is a config error: it trained on one, said nothing, and stored the count', async () => {
  await rejectsWith(
    withOverride({ cluster: { workers: 2 } }),
    'cluster.workers 2 with cluster.transport local: it computes in this process, on one worker; give --threads 2 (or --procs 2) for more, or leave cluster.workers at 1',
  );
  for (const transport of ['threads', 'procs', 'ws'] as const) assert.equal((await withOverride({ cluster: { transport, workers: 2 } })).cluster.workers, 2);
});

test('YAML over defaults, flags over YAML', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cfg-'));
  const file = join(dir, 'c.yaml');
  await writeFile(file, 'train:\n  epochs: 7\n  lr: 0.05\ndata:\n  classes: [airplane, ship]\n');
  const c = await resolveConfig(file, { train: { epochs: 2 } });
  assert.equal(c.train.epochs, 2);
  assert.equal(c.train.lr, 0.05);
  assert.equal(c.train.batchSize, DEFAULT_CONFIG.train.batchSize);
  assert.deepEqual(c.data.classes, ['airplane', 'ship']);
});

test('unreadable or malformed config files are E_CONFIG', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cfg-'));
  await rejectsWith(resolveConfig(join(dir, 'missing.yaml')), /cannot read config file .*missing\.yaml/);
  const bad = join(dir, 'bad.yaml');
  await writeFile(bad, 'train: [unclosed\n');
  await rejectsWith(resolveConfig(bad), /is not valid YAML/);
  const list = join(dir, 'list.yaml');
  await writeFile(list, '- 1\n- 2\n');
  await rejectsWith(resolveConfig(list), /must hold a mapping/);
});

test('dotted flags become nested overrides with YAML-typed values', () => {
  const { rest, overrides } = extractConfigFlags([
    'train', '--config', 'x.yaml', '--train.epochs', '2', '--data.path=./d', '--data.classes', '[airplane, ship]',
    '--data.download', 'true', '--gpu', '0', '--data.limitTrain', 'null',
  ]);
  assert.deepEqual(rest, ['train', '--config', 'x.yaml', '--gpu', '0']);
  assert.deepEqual(overrides, {
    train: { epochs: 2 },
    data: { path: './d', classes: ['airplane', 'ship'], download: true, limitTrain: null },
  });
});

test('a dotted flag without a value is an error', () => {
  assert.throws(() => extractConfigFlags(['--train.epochs']), (e) => isTrainerError(e, 'E_CONFIG'));
  assert.throws(() => extractConfigFlags(['--train.epochs', '--quiet']), (e) => isTrainerError(e, 'E_CONFIG'));
});

test('a key typed in the wrong case is answered with the key (batchsize: did you mean batchSize?)', async () => {
  await rejectsWith(withOverride({ train: { batchsize: 8 } }), 'unknown config key train.batchsize; did you mean train.batchSize?');
  await rejectsWith(withOverride({ data: { Classes: ['ship'] } }), 'unknown config key data.Classes; did you mean data.classes?');
});

test('data.classes names CIFAR-10 classes, each once: E_CONFIG with the flags (it was E_DATA, exit 1, once the data loaded)', async () => {
  await rejectsWith(withOverride({ data: { classes: ['airplane', 'Ship'] } }), /^data\.classes: unknown class "Ship"; did you mean ship\? \(the classes: airplane, automobile, .*truck\)$/);
  await rejectsWith(withOverride({ data: { classes: ['zebra'] } }), /^data\.classes: unknown class "zebra" \(the classes: /);
  await rejectsWith(withOverride({ data: { classes: ['ship', 'airplane', 'ship'] } }), 'data.classes lists ship twice');
});

test('data.classes names at least 2 classes: one trained a model with nothing to tell apart, to its end', async () => {
  const rule = 'data.classes must name at least 2 classes (one is nothing to tell apart), or be null for all ten';
  await rejectsWith(withOverride({ data: { classes: ['airplane'] } }), `${rule}, got ["airplane"]`);
  await rejectsWith(withOverride({ data: { classes: [] } }), `${rule}, got []`);
  await rejectsWith(withOverride(extractConfigFlags(['--data.classes', '[airplane]']).overrides), `${rule}, got ["airplane"]`);
  assert.deepEqual((await withOverride({ data: { classes: ['airplane', 'ship'] } })).data.classes, ['airplane', 'ship']);
});

test('__proto__, constructor and prototype are unknown keys, in a flag or a file, and change no object', async () => {
  for (const flag of ['--train.__proto__.epochs', '--train.__proto__', '--data.constructor.x']) {
    assert.throws(() => extractConfigFlags([flag, '3']), (e) => isTrainerError(e, 'E_CONFIG') && e.message === `unknown config key ${flag.slice(2).replace(/\.(epochs|x)$/, '')}`);
  }
  assert.equal(({} as Record<string, unknown>)['epochs'], undefined, 'Object.prototype untouched');
  const dir = await mkdtemp(join(tmpdir(), 'cfg-'));
  const file = join(dir, 'proto.yaml');
  await writeFile(file, 'train:\n  epochs: 1\n  __proto__: {lr: 5}\n');
  await rejectsWith(resolveConfig(file), 'unknown config key train.__proto__');
});

test('a NaN or infinity inside a list is quoted as such, not as null', async () => {
  await rejectsWith(withOverride({ data: { normalize: { mean: [0.5, 0.5, Infinity], std: [0.2, 0.2, 0.2] } } }), /got \{"mean":\[0\.5,0\.5,Infinity\],"std":\[0\.2,0\.2,0\.2\]\}$/);
  await rejectsWith(withOverride({ data: { normalize: { mean: [NaN, 0, 0], std: [1, 1, 1] } } }), /got \{"mean":\[NaN,0,0\],/);
});

test('data.normalize means beyond ±1e6 are E_CONFIG (1e40 overflowed float32 and was blamed on the learning rate)', async () => {
  await rejectsWith(withOverride({ data: { normalize: { mean: [1e40, 0, 0], std: [1, 1, 1] } } }), /^data\.normalize\.mean must be 3 numbers from -1e6 to 1e6/);
  assert.deepEqual((await withOverride({ data: { normalize: { mean: [-1e6, 0, 1e6], std: [1, 1, 1] } } })).data.normalize, { mean: [-1e6, 0, 1e6], std: [1, 1, 1] });
});

test('a section given a value, a batch too large for any micro-batch count, and a YAML error read as one plain sentence', async () => {
  await rejectsWith(withOverride({ train: 5 }), 'train must be a section of keys, got 5');
  await rejectsWith(withOverride({ train: { batchSize: 1e9, microBatches: 1024 } }), /makes micro-batches of 976563 examples, at most 4096 \(.*\); lower train\.batchSize \(at most 4194304 in 1024 micro-batches\)$/);
  await rejectsWith(withOverride({ train: { batchSize: 8192, microBatches: 1 } }), /; raise train\.microBatches$/);
  const dir = await mkdtemp(join(tmpdir(), 'cfg-'));
  const twice = join(dir, 'twice.yaml');
  await writeFile(twice, 'train:\n  epochs: 1\ntrain:\n  epochs: 2\n');
  await rejectsWith(resolveConfig(twice), /is not valid YAML: Map keys must be unique at line 3, column 1$/);
});

test('data.url must be an http(s) URL, named without its credentials (a password with an unescaped # was refused only at download time, printed and stored as typed)', async () => {
  const hint = '(in a user or password, write / ? # @ as %2F %3F %23 %40)';
  await rejectsWith(withOverride({ data: { url: 'https://alice:pa#ss42@127.0.0.1:9/x.tar.gz' } }), `data.url must be an http:// or https:// URL, got "https://***@127.0.0.1:9/x.tar.gz" ${hint}`);
  await rejectsWith(withOverride({ data: { url: 'ftp://mirror/cifar.tar.gz' } }), `data.url must be an http:// or https:// URL, got "ftp://mirror/cifar.tar.gz" ${hint}`);
  await rejectsWith(withOverride({ data: { url: 'mirror/cifar.tar.gz' } }), /^data\.url must be an http/);
  assert.equal((await withOverride({ data: { url: 'https://alice:pa%23ss@h/x.tar.gz' } })).data.url, 'https://alice:pa%23ss@h/x.tar.gz');
});

test('data.url with port 0 or a host name no resolver takes is E_CONFIG at once (it was E_DOWNLOAD, exit 1, once the download began); addresses and valid names pass', async () => {
  const long = 'a'.repeat(64);
  const bad: [string, string][] = [
    ['http://mirror:0/c.tgz', 'port 0 is no port to connect to'],
    ['http://bad..example/c.tgz', 'the host name "bad..example" has an empty part (two dots in a row, or a leading dot)'],
    ['http://.example/c.tgz', 'the host name ".example" has an empty part (two dots in a row, or a leading dot)'],
    ['http://-mirror.example/c.tgz', 'the host name\'s part "-mirror" starts or ends with \'-\''],
    ['http://mirror-.example/c.tgz', 'the host name\'s part "mirror-" starts or ends with \'-\''],
    [`http://${long}.example/c.tgz`, `the host name's part "${'a'.repeat(20)}…" has 64 characters, over the 63 a part may have`],
    [`http://${Array(64).fill('abc').join('.')}/c.tgz`, 'the host name has 255 characters, over the 253 a name may have'],
    ['https://alice:secret@mirror:0/c.tgz', 'port 0 is no port to connect to'],
  ];
  for (const [url, why] of bad) {
    // Long values are cut short in messages (quote): the URL's head is named, and the fault whole.
    const shown = JSON.stringify(url.replace('alice:secret', '***')).slice(0, 40).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const fault = why.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    await rejectsWith(withOverride({ data: { url } }), new RegExp(`^data\\.url ${shown}.*: ${fault}$`));
  }
  await assert.rejects(withOverride({ data: { url: 'https://alice:secret@mirror:0/c.tgz' } }), (e: Error) => !e.message.includes('secret'));
  const good = ['http://127.0.0.1:8080/c.tgz', 'http://[::1]:8080/c.tgz', 'https://mirror.example.org./c.tgz', 'http://localhost/c.tgz', 'http://my_mirror/c.tgz', 'https://a-b.example:65535/c.tgz', `http://${'a'.repeat(63)}.example/c.tgz`];
  for (const url of good) assert.equal((await withOverride({ data: { url } })).data.url, url);
});

test('a section the file gives a value is named as such whatever flags set keys of it (the flag replaced the value, and the error named another key, or none)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cfg-'));
  const cases: [string, object, string][] = [
    ['train: 5', { train: { epochs: 1 } }, 'train must be a section of keys, got 5'],
    ['data: [ship, truck]', { data: { path: 'x' } }, 'data must be a section of keys, got ["ship","truck"]'],
    ['data: {synthetic: 3}', { data: { synthetic: { seed: 2 } } }, 'data.synthetic must be a section of keys, got 3'],
    // The flag gave every key of the section: accepted without a word.
    ['log: oops', { log: { everySteps: 5 } }, 'log must be a section of keys, got "oops"'],
  ];
  for (const [yaml, flags, message] of cases) {
    const file = join(dir, 'c.yaml');
    await writeFile(file, `${yaml}\n`);
    await rejectsWith(resolveConfig(file, flags), message);
  }
  // A section left empty keeps its defaults; normalize is a value or a section.
  const file = join(dir, 'ok.yaml');
  await writeFile(file, 'train:\ndata: {normalize: article}\n');
  const c = await resolveConfig(file, { train: { epochs: 1 }, data: { normalize: { mean: [0, 0, 0], std: [1, 1, 1] } } });
  assert.equal(c.train.epochs, 1);
  assert.deepEqual(c.data.normalize, { mean: [0, 0, 0], std: [1, 1, 1] });
});

test('paths with a NUL, a TLS file that is not text, and a file key spelt as its flag are one E_CONFIG line each (they were E_IO or E_DATA exit 1, zod\'s words, or a plain "unknown key")', async () => {
  await rejectsWith(withOverride({ run: { name: 'a\0b' } }), 'run.name must not hold a NUL character (no path can), got "a\\u0000b"');
  await rejectsWith(withOverride({ run: { dir: 'runs\0' } }), 'run.dir must not hold a NUL character (no path can), got "runs\\u0000"');
  await rejectsWith(withOverride({ data: { path: '\0' } }), 'data.path must not hold a NUL character (no path can), got "\\u0000"');
  await rejectsWith(withOverride({ cluster: { tls: { key: 'k\0' } } }), 'cluster.tls.key must not hold a NUL character (no path can), got "k\\u0000"');
  await rejectsWith(withOverride({ cluster: { tls: { cert: 5 } } }), 'cluster.tls.cert must be a file name or null, got 5');
  await rejectsWith(withOverride({ 'train.epochs': 3 }), 'unknown config key "train.epochs": a file nests it (train: with epochs: indented under it); the dotted name is the flag\'s (--train.epochs)');
  await rejectsWith(withOverride({ 'train.epoch': 3 }), /^unknown config key train\.epoch; did you mean /);
});
