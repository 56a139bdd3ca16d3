// The model's input, made in place: CIFAR images (uint8, planar CHW) become the normalised NHWC
// float32 tensor directly in the wasm backend's memory. The bytes are copied into a scratch area
// of that memory (one memcpy per run of consecutive indices), a small wasm function looks every
// byte up in the per-channel table of normalize.ts and writes the float, transposed, into the
// tensor's own memory, so there is no per-pixel JavaScript and no second copy by tf.tensor4d.
//
// A table rather than the formula: a lookup gives exactly normalizePixel's float32 (bit-identical
// training depends on it), and measured at batch 32 the scalar lookup (~31 µs) beat the float64
// formula in SIMD (f64x2 mul, add, demote: ~50 µs), while tensor ops (cast, gather, transpose)
// took ~20 ms. The whole input costs ~40 µs against ~150 µs for the formula in a JS loop plus
// tf.tensor4d, and ~110 µs for the JS table loop (normalizeBatch; the Input rows of
// scripts/bench-kernels.ts).
import * as tf from '../tf.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { IMAGE_BYTES, IMAGE_CHANNELS, IMAGE_SIDE, PLANE_BYTES, type Dataset } from '../../data/cifar-format.js';
import { NORMALIZATION_TABLE_SIZE, checkBatchIndices } from '../../data/normalize.js';
import { TrainerError } from '../../shared/errors.js';
import { Fn } from './wasm-asm.js';
import { WASM_BACKEND, emscripten, wasmSimdOff } from './wasm-heap.js';
import { instantiateOnBackend, type WasmFunction } from './wasm-instance.js';

const TABLE_BYTES = NORMALIZATION_TABLE_SIZE * 4;
/** Pixels per iteration of the inner loop (divides PLANE_BYTES). */
const UNROLL = 4;

/**
 * normalizeImages(bytesPtr, tablePtr, outPtr, n): for n consecutive CHW images of bytes,
 * out[k, y, x, c] = table[c*256 + bytes[k, c, y, x]] (float32, NHWC).
 */
function normalizeImagesFn(): Fn {
  const f = new Fn('normalizeImages', ['i32', 'i32', 'i32', 'i32']);
  const [bytesPtr, tablePtr, outPtr, n] = [0, 1, 2, 3];
  const [k, p, sp, op] = [f.local('i32'), f.local('i32'), f.local('i32'), f.local('i32')];
  f.get(bytesPtr).set(sp);
  f.get(outPtr).set(op);
  f.forLoop(k, () => f.i32(0), () => f.get(n), 1, () => {
    f.forLoop(p, () => f.i32(0), () => f.i32(PLANE_BYTES), UNROLL, () => {
      for (let u = 0; u < UNROLL; u++) {
        for (let c = 0; c < IMAGE_CHANNELS; c++) {
          f.get(op).get(sp);
          f.i32Load8U(c * PLANE_BYTES + u);
          // Channel c's table starts c*1024 bytes in: the f32.load offset.
          f.i32(2).shl().get(tablePtr).add().f32Load(c * 256 * 4);
          f.f32Store((u * IMAGE_CHANNELS + c) * 4);
        }
      }
      f.get(sp).i32(UNROLL).add().set(sp);
      f.get(op).i32(UNROLL * IMAGE_CHANNELS * 4).add().set(op);
    });
    // sp walked the red plane; skip green and blue to the next image.
    f.get(sp).i32(IMAGE_BYTES - PLANE_BYTES).add().set(sp);
  });
  return f;
}

/** Per backend: the function, and a scratch area [table | images] that only grows. */
type Scratch = { run: WasmFunction; ptr: number; images: number; table: Float32Array | null };

const scratches = new WeakMap<object, Scratch | null>();

function scratchFor(backend: BackendWasm): Scratch | null {
  const key = backend.wasm as object;
  const hit = scratches.get(key);
  if (hit !== undefined) return hit;
  const exports = instantiateOnBackend(backend, [normalizeImagesFn()]);
  const run = exports?.['normalizeImages'];
  const scratch = run === undefined ? null : { run, ptr: 0, images: 0, table: null };
  scratches.set(key, scratch);
  return scratch;
}

function ensureRoom(backend: BackendWasm, s: Scratch, n: number): void {
  if (s.images >= n) return;
  const heap = emscripten(backend);
  if (s.ptr !== 0) heap._free(s.ptr);
  s.ptr = heap._malloc(TABLE_BYTES + n * IMAGE_BYTES) >>> 0;
  s.images = s.ptr === 0 ? 0 : n;
  s.table = null;
  if (s.ptr === 0) throw new TrainerError('E_INTERNAL', `normalizeImages: the wasm heap has no room for ${n} images`);
}

/**
 * The images of `d` at `indices` as a new float32 [n, 32, 32, 3] tensor, each byte replaced by
 * its channel's entry of `table` (from normalizationTable): exactly normalizeBatch's values.
 * The table is copied into wasm memory once per table object, so it must not change afterwards.
 * Null where this cannot run: a backend other than wasm, a threaded wasm build, or
 * TRAINER_WASM_SIMD=0 (the switch for every wasm module of this folder); the caller then uses
 * normalizeBatchFromTable. After the first call for a batch size it allocates no buffers: only
 * the tensor, from the backend's heap, as tf.tensor4d would.
 */
export function normalizedImagesOnWasm(d: Dataset, indices: ArrayLike<number>, table: Float32Array): tf.Tensor4D | null {
  if (tf.getBackend() !== WASM_BACKEND || wasmSimdOff()) return null;
  const backend = tf.backend() as BackendWasm;
  const s = scratchFor(backend);
  if (s === null) return null;
  if (table.length !== NORMALIZATION_TABLE_SIZE) {
    throw new TrainerError('E_INTERNAL', `normalizeImages: table holds ${table.length} floats, not ${NORMALIZATION_TABLE_SIZE}`);
  }
  checkBatchIndices(d, indices, 'normalizeImages');
  const n = indices.length;
  ensureRoom(backend, s, n);
  const out = backend.makeOutput([n, IMAGE_SIDE, IMAGE_SIDE, IMAGE_CHANNELS], 'float32');
  // Views only after the last malloc: growing the memory replaces HEAPU8's buffer.
  const heap = emscripten(backend).HEAPU8;
  if (s.table !== table) {
    heap.set(new Uint8Array(table.buffer, table.byteOffset, TABLE_BYTES), s.ptr);
    s.table = table;
  }
  const bytesPtr = s.ptr + TABLE_BYTES;
  const { images } = d;
  for (let k = 0; k < n; ) {
    const first = indices[k] as number;
    let run = 1;
    while (k + run < n && indices[k + run] === first + run) run++;
    heap.set(images.subarray(first * IMAGE_BYTES, (first + run) * IMAGE_BYTES), bytesPtr + k * IMAGE_BYTES);
    k += run;
  }
  s.run(bytesPtr, s.ptr, backend.getMemoryOffset(out.dataId), n);
  return tf.engine().makeTensorFromTensorInfo(out, backend) as tf.Tensor4D;
}
