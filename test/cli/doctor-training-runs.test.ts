import assert from 'node:assert/strict';
import test from 'node:test';
import { parityBroken, trainingNote, trainingRuns } from '../../src/cli/doctor.js';
import { GPU_MICRO_BATCH, gpuMicroBatchNote } from '../../src/worker/backend.js';

const gpu0 = { backend: 'webgpu', gpu: 0, gpuBackend: true };
const webgpu = { backend: 'webgpu', gpu: null, gpuBackend: false };
const wasm = { backend: 'wasm', gpu: null, gpuBackend: false };
const cpu = { backend: 'cpu', gpu: null, gpuBackend: false };
const lavapipe = { ok: true, detail: 'llvmpipe (LLVM 19.1.7, 256 bits) (software)' };
const h200 = { ok: true, detail: 'NVIDIA H200' };
const yes = { ok: true, detail: 'loaded' };

test('doctor --train trains each usable GPU backend and wasm, a software adapter on --software-limit images and once (TRAINER_WEBGPU_ADAPTER made --gpu 0 a software one, trained on every image until it stopped after 150 s)', () => {
  // A GPU: webgpu without --gpu is the same adapter, not trained twice.
  // On 2 compute threads too (parityBroken compares them).
  assert.deepEqual(trainingRuns([[gpu0, h200], [webgpu, h200], [wasm, yes], [cpu, yes]]), [
    { backend: 'webgpu', gpu: 0, software: false },
    { backend: 'webgpu', gpu: 0, software: false, threads: 2 },
    { backend: 'wasm', gpu: null, software: false },
  ]);
  // No GPU, lavapipe: --gpu 0 refuses it, webgpu runs on it.
  assert.deepEqual(trainingRuns([[gpu0, { ok: false, detail: 'E_BACKEND: a software one' }], [webgpu, lavapipe], [wasm, yes]]), [
    { backend: 'webgpu', gpu: null, software: true },
    { backend: 'wasm', gpu: null, software: false },
  ]);
  // TRAINER_WEBGPU_ADAPTER=llvmpipe: --gpu 0 is the software adapter.
  assert.deepEqual(trainingRuns([[gpu0, lavapipe], [webgpu, lavapipe], [wasm, yes]]), [
    { backend: 'webgpu', gpu: 0, software: true },
    { backend: 'wasm', gpu: null, software: false },
  ]);
});

test("doctor --train's note: a GPU's row says what its run said of small micro-batches (on an H200 demo.yaml's 16 images made webgpu 954 images/s against wasm's 3,319); a software adapter's row names its image limit", () => {
  const gpu = { backend: 'webgpu', gpu: 0, software: false };
  const said = (microBatch: number) => `backend: webgpu (NVIDIA H200: 580.159.04)\n${gpuMicroBatchNote(microBatch) ? `note: ${gpuMicroBatchNote(microBatch)}\n` : ''}`;
  assert.match(trainingNote(gpu, 512, said(16)), /^micro-batches of 16 images leave a GPU mostly waiting: it does better with 128 or more \(configs\/cifar3-gpu.yaml/);
  assert.match(trainingNote({ backend: 'tensorflow-gpu', gpu: null, software: false }, 512, said(16)), /^micro-batches of 16 images/);
  assert.equal(trainingNote(gpu, 512, said(GPU_MICRO_BATCH)), '');
  assert.equal(trainingNote({ backend: 'wasm', gpu: null, software: false }, 512, 'backend: wasm\n'), '');
  assert.equal(trainingNote({ backend: 'webgpu', gpu: null, software: true }, 512, said(16)), 'software adapter: the first 512 images at most');
});

test('doctor --train: a GPU row on 2 threads must have its in-process weights; other weights say "parity broken" (the table then exits 1), a failed row is left as it is', () => {
  const a = 'a'.repeat(64);
  const b = 'b'.repeat(64);
  const runs = [
    { backend: 'webgpu', gpu: 0, software: false },
    { backend: 'webgpu', gpu: 0, software: false, threads: 2 },
    { backend: 'wasm', gpu: null, software: false },
  ];
  const rows = [
    ['webgpu --gpu 0', '1300', a, ''],
    ['webgpu --gpu 0 --threads 2', '1700', a, ''],
    ['wasm', '3300', b, ''],
  ];
  assert.deepEqual(parityBroken(runs, rows), rows);
  const broken = parityBroken(runs, [rows[0] as string[], ['webgpu --gpu 0 --threads 2', '1700', b, ''], rows[2] as string[]]);
  assert.deepEqual(broken[1], ['webgpu --gpu 0 --threads 2', '1700', b, 'parity broken: not the weights of webgpu --gpu 0 in-process']);
  const failed = [rows[0] as string[], ['webgpu --gpu 0 --threads 2', '', '', 'ended by SIGSEGV after saving its model']];
  assert.deepEqual(parityBroken(runs.slice(0, 2), failed), failed);
});
