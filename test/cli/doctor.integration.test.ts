// `trainer doctor`: a row per backend that says whether it is usable and why not, exit 0 even
// where backends are missing (as here: no tfjs-node, no GPU).
import assert from 'node:assert/strict';
import test from 'node:test';
import { whyAndFix } from '../../src/cli/doctor.js';
import { trainer } from './cli-helpers.js';

test('doctor lists every backend with whether it is usable and why not, and exits 0', () => {
  const r = trainer(['doctor']);
  assert.equal(r.code, 0, r.stderr);
  const row = (name: string) => r.stdout.split('\n').find((l) => l.startsWith(`${name} `)) ?? '';
  assert.match(row('wasm'), /^wasm\s+yes/);
  assert.match(row('cpu'), /^cpu\s+yes/);
  assert.match(row('tensorflow-gpu --gpu 0'), /\s(yes|no)\s/);
  if (/\sno\s/.test(row('tensorflow-gpu --gpu 0'))) {
    assert.match(row('tensorflow-gpu --gpu 0'), /E_BACKEND: tensorflow-gpu: /);
    assert.match(r.stdout, /What the missing ones need:\n(- .*\n)*- tfjs-node-gpu 4\.22 needs .*CUDA 11\.2 and cuDNN 8\.1/);
  }
  assert.match(row('webgpu --gpu 0'), /\s(yes|no)\s/);
  // Here (lavapipe only) its row named the missing driver, cut inside its parenthesis.
  if (/\sno\s/.test(row('webgpu --gpu 0'))) assert.doesNotMatch(row('webgpu --gpu 0'), /\([^)]*$/, 'no parenthesis left open');
  assert.match(r.stdout, /^WebGPU adapters Dawn sees: /m);
});

test("a probe's detail splits into the row's cause and the fix at the first '; ' outside parentheses", () => {
  assert.deepEqual(
    whyAndFix("E_BACKEND: no GPU's Vulkan driver is installed (the NVIDIA driver ships one; in a container X must include graphics); without --gpu, lavapipe"),
    ["E_BACKEND: no GPU's Vulkan driver is installed (the NVIDIA driver ships one; in a container X must include graphics)", 'without --gpu, lavapipe'],
  );
  assert.deepEqual(whyAndFix('a; b; c'), ['a', 'b; c']);
  assert.deepEqual(whyAndFix('wasm (SIMD)'), ['wasm (SIMD)', null]);
});

test('doctor --train runs the package\'s demo config from any folder, writes nothing there, and checks --config before probing', async () => {
  const { mkdtemp, readdir, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const elsewhere = await mkdtemp(join(tmpdir(), 'trainer-doctor-cwd-'));
  try {
    // From another folder the relative default configs/demo.yaml was missing: every row "cannot read config file", exit 0.
    const r = trainer(['doctor', '--train', '--software-limit', '64'], elsewhere);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^wasm\s+\d+\s+[0-9a-f]{64}/m);
    // Where Dawn has only a software adapter (lavapipe: tens of images/s), it trains on the first N images.
    if (/^webgpu\s+yes\s.*\(software\)$/m.test(r.stdout)) assert.match(r.stdout, /^webgpu\s+\d+\s+[0-9a-f]{64}\s+software adapter: the first 64 images at most$/m);
    assert.deepEqual(await readdir(elsewhere), [], 'no data or runs left in the folder it ran from');
    // --config is for --train: alone it was taken and ignored.
    const alone = trainer(['doctor', '--config', join(elsewhere, 'nope.yaml')], elsewhere);
    assert.deepEqual([alone.code, alone.stderr], [2, 'error E_USAGE: --config names the config --train runs: add --train (see trainer doctor --help)\n']);
    const missing = trainer(['doctor', '--train', '--config', join(elsewhere, 'nope.yaml')], elsewhere);
    assert.equal(missing.code, 2);
    assert.equal(missing.stderr, `error E_USAGE: --config ${join(elsewhere, 'nope.yaml')}: cannot read it: no such file or folder (ENOENT)\n`);
    // -c, as train and coordinator take it (it was "Unknown argument: c").
    const short = trainer(['doctor', '--train', '-c', join(elsewhere, 'nope.yaml')], elsewhere);
    assert.deepEqual([short.code, short.stderr], [missing.code, missing.stderr]);
    // A config no backend can train: one E_CONFIG line before any probe (it was one per row, with exit 0, then 1).
    const { writeFile } = await import('node:fs/promises');
    const bad = join(elsewhere, 'bad.yaml');
    await writeFile(bad, 'train: {batchSize: 0}\n');
    const failed = trainer(['doctor', '--train', '--config', bad], elsewhere);
    assert.equal(failed.code, 2, failed.stdout);
    assert.equal(failed.stderr, 'error E_CONFIG: train.batchSize must be a positive integer, got 0\n');
    assert.equal(failed.stdout, '', 'nothing probed');
    // A config that validates but cannot train (no data there): one E_DATA line before any probe (it was one per row, with exit 0, then 1).
    const nodata = join(elsewhere, 'nodata.yaml');
    await writeFile(nodata, `data: {source: cifar10, path: ${join(elsewhere, 'none')}}\n`);
    const cannot = trainer(['doctor', '--train', '--config', nodata], elsewhere);
    assert.equal(cannot.code, 2, cannot.stdout);
    assert.match(cannot.stderr, /^error E_DATA: no CIFAR-10 data in /m);
    // It quotes train's advice (--data.download true), a flag doctor refuses: said with it.
    assert.ok(cannot.stderr.includes(`(doctor takes no config keys: set data.path, data.download: true or data.source: synthetic in ${nodata}, or try them on trainer train first)`), cannot.stderr);
  } finally {
    await rm(elsewhere, { recursive: true, force: true });
  }
});
