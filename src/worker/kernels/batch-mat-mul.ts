// BatchMatMul for the wasm backend. The stock kernel is XNNPACK's fully connected operator, which
// packs (copies and rearranges) its second operand every time it sees a new tensor: in training
// every weight is a new tensor each step, so every product paid a full extra pass over the
// weights, and the transposed products of backprop (dW = x^T dy, dx = dy W^T) took a slow loop or
// an explicit transpose in JavaScript. For a single pair of float32 matrices we run our own SIMD
// product (mat-mul-simd.ts) straight on the operands in any of the forms training uses; batches of
// several matrices and other dtypes go to the stock kernel.
import * as tf from '../tf.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { matMulFns, type MatMulKernels } from './mat-mul-simd.js';
import { runStockKernel } from './stock-kernels.js';
import { WASM_BACKEND, heapF32, wasmSimdOff, heapOffset, type KernelArgs } from './wasm-heap.js';
import { instantiateFusedOrPlain } from './wasm-instance.js';

const modules = new WeakMap<object, MatMulKernels | null>();

/** The product functions on this backend's memory, or null where they cannot run (the stock kernel is used). */
function matMulKernels(backend: BackendWasm): MatMulKernels | null {
  if (wasmSimdOff()) return null;
  const key = backend.wasm as object;
  const hit = modules.get(key);
  if (hit !== undefined) return hit;
  const exports = instantiateFusedOrPlain(backend, matMulFns);
  const kernels = exports === null ? null : (exports as unknown as MatMulKernels);
  modules.set(key, kernels);
  return kernels;
}

/** Floats of B per panel: 512 KB, which stays in the second-level cache with room for A and C. */
const PANEL_FLOATS = 131072;

/**
 * Rows of a column strip of B that stay in the first-level cache when B's rows are `rowBytes`
 * apart. Rows 4 KB apart (1024 floats, the fc model's widest layer) all fall in one set of the
 * cache (64 sets of 64-byte lines), which holds as many lines as it has ways (8 to 12): a strip
 * of 128 rows was evicted while the kernel went down A's rows, and it ran at 32 GFLOP/s where
 * panels of 48 rows run at 42 (fc1 forward, [16,3072] x [3072,1024]; 64 rows: 30). Rows 2 KB
 * apart use 2 sets, and so on; rows not a multiple of 64 bytes apart spread over all sets.
 */
function strideRows(rowBytes: number): number {
  if (rowBytes % 64 !== 0) return Infinity;
  let sets = 64;
  for (let lines = rowBytes / 64; lines % 2 === 0 && sets > 1; lines /= 2) sets /= 2;
  return 48 * sets;
}

/** C (m x n, row-major) = A·B with B (inner x n, row-major) and A(r, k) at aPtr + r·aRowBytes + k·aKBytes. */
function product(k: MatMulKernels, aPtr: number, bPtr: number, cPtr: number, m: number, n: number, inner: number, aRowBytes: number, aKBytes: number): void {
  const kBlock = Math.max(16, Math.min(Math.floor(PANEL_FLOATS / n), strideRows(n * 4)));
  // Keep the larger operand's block in cache: B's column strip, or A's row band.
  const colsOuter = Math.min(inner, kBlock) * n >= m * inner;
  const packed = aRowBytes === 4;
  const gemm = colsOuter ? (packed ? k.gemmColsOuterPacked : k.gemmColsOuter) : packed ? k.gemmRowsOuterPacked : k.gemmRowsOuter;
  gemm(aPtr, bPtr, cPtr, m, n, inner, kBlock, aRowBytes, aKBytes, n * 4, n * 4, 0);
}

function batchMatMulKernel(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
  const single = (t: tf.TensorInfo): boolean => t.shape.length >= 2 && tf.util.sizeFromShape(t.shape.slice(0, -2)) === 1;
  const stockArgs = args as unknown as Parameters<tf.KernelFunc>[0];
  const k = a.dtype === 'float32' && b.dtype === 'float32' && single(a) && single(b) && !(transposeA && transposeB) ? matMulKernels(backend) : null;
  if (k === null) return runStockKernel(tf.BatchMatMul, stockArgs);
  const ra = a.shape.length;
  const rb = b.shape.length;
  const [a0, a1] = [a.shape[ra - 2] as number, a.shape[ra - 1] as number];
  const [b0, b1] = [b.shape[rb - 2] as number, b.shape[rb - 1] as number];
  const m = transposeA ? a1 : a0;
  const inner = transposeA ? a0 : a1;
  const n = transposeB ? b0 : b1;
  if ((transposeB ? b1 : b0) !== inner) throw new Error(`BatchMatMul: inner dimensions ${inner} and ${transposeB ? b1 : b0} differ`);
  const batchShape = (ra >= rb ? a.shape : b.shape).slice(0, -2);
  const out = backend.makeOutput([...batchShape, m, n], 'float32');
  if (m * n === 0) return out;
  // Pointers are taken after every allocation: one may move the heap's buffer, not the offsets.
  const temps: tf.TensorInfo[] = [];
  const temp = (shape: number[]): tf.TensorInfo => {
    const t = backend.makeOutput(shape, 'float32');
    temps.push(t);
    return t;
  };
  try {
    if (transposeB && m * inner + m * n < n * inner) {
      // dy W^T with W the larger: (W dy^T)^T, transposing the two small matrices instead of W.
      const aT = temp([inner, m]);
      const outT = temp([n, m]);
      k.transpose(heapOffset(backend, a), heapOffset(backend, aT), m, inner);
      product(k, heapOffset(backend, b), heapOffset(backend, aT), heapOffset(backend, outT), n, m, inner, inner * 4, 4);
      k.transpose(heapOffset(backend, outT), heapOffset(backend, out), n, m);
    } else if (transposeB) {
      const bT = temp([inner, n]);
      k.transpose(heapOffset(backend, b), heapOffset(backend, bT), n, inner);
      product(k, heapOffset(backend, a), heapOffset(backend, bT), heapOffset(backend, out), m, n, inner, a1 * 4, 4);
    } else if (transposeA) {
      // A(r, k): x^T dy reads x's columns as rows, whose floats are adjacent (packed).
      product(k, heapOffset(backend, a), heapOffset(backend, b), heapOffset(backend, out), m, n, inner, 4, a1 * 4);
    } else if (n < 128) {
      // x W with few columns: transposing A would cost more than the packed kernel saves.
      product(k, heapOffset(backend, a), heapOffset(backend, b), heapOffset(backend, out), m, n, inner, a1 * 4, 4);
    } else {
      // x W: A transposed first (m·inner floats moved for m·n·inner multiply-adds) for the packed kernel.
      const aT = temp([inner, m]);
      k.transpose(heapOffset(backend, a), heapOffset(backend, aT), m, inner);
      product(k, heapOffset(backend, aT), heapOffset(backend, b), heapOffset(backend, out), m, n, inner, 4, m * 4);
    }
  } finally {
    for (const t of temps) backend.disposeData(t.dataId);
  }
  return out;
}

export const batchMatMulConfig: tf.KernelConfig = {
  kernelName: tf.BatchMatMul,
  backendName: WASM_BACKEND,
  kernelFunc: batchMatMulKernel as unknown as tf.KernelFunc,
};

/**
 * The current backend and our product functions, where BatchMatMul is ours on wasm (so that
 * products made outside a kernel call have its bits); null elsewhere.
 */
function ourProduct(): { backend: BackendWasm; k: MatMulKernels } | null {
  if (tf.getBackend() !== WASM_BACKEND || tf.getKernel(tf.BatchMatMul, WASM_BACKEND) !== batchMatMulConfig) return null;
  const backend = tf.backend() as BackendWasm;
  const k = matMulKernels(backend);
  return k === null ? null : { backend, k };
}

/** Rows of A^T·B per chunk in transposedProductInto: 64 rows of 1,024 floats is 256 KB, which stays in the core's cache. */
const CHUNK_FLOATS = 65536;

/**
 * Writes A^T·B (A [inner, m], B [inner, n], float32 tensors on the wasm backend) into `out` from
 * `offset` on, row-major, with the bits BatchMatMul(A, B, transposeA) gives, but a chunk of rows
 * at a time through a small buffer on the heap that is copied out while it is still in cache:
 * the product never goes to memory as a tensor of its own to be read back. For the fc model's
 * first weight gradient (3072 x 1024 floats, copied into a shared gradient slot) that is 12.5 MB
 * less written and read per micro-batch. Returns false, writing nothing, where our product does
 * not run (another backend, TRAINER_WASM_SIMD=0, the stock BatchMatMul registered): the caller
 * then takes BatchMatMul's result.
 */
export function transposedProductInto(a: tf.TensorInfo, b: tf.TensorInfo, out: Float32Array, offset: number): boolean {
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length !== 2 || b.shape.length !== 2 || a.shape[0] !== b.shape[0]) return false;
  const our = ourProduct();
  if (our === null) return false;
  const { backend, k } = our;
  const [inner, m] = a.shape as [number, number];
  const n = b.shape[1] as number;
  if (offset + m * n > out.length) throw new Error(`transposedProductInto: ${m} x ${n} floats from ${offset} do not fit ${out.length}`);
  const rows = Math.max(1, Math.min(m, Math.floor(CHUNK_FLOATS / Math.max(n, 1))));
  const scratch = backend.makeOutput([rows, n], 'float32');
  try {
    // Offsets after the allocation (it may move the heap's buffer, not the offsets).
    const [aPtr, bPtr, cPtr] = [heapOffset(backend, a), heapOffset(backend, b), heapOffset(backend, scratch)];
    for (let r0 = 0; r0 < m; r0 += rows) {
      const count = Math.min(rows, m - r0);
      // A^T's rows r0.. are A's columns: adjacent floats (packed), inner·m·4 bytes per step of k.
      product(k, aPtr + r0 * 4, bPtr, cPtr, count, n, inner, 4, m * 4);
      out.set(heapF32(backend, scratch).subarray(0, count * n), offset + r0 * n);
    }
  } finally {
    backend.disposeData(scratch.dataId);
  }
  return true;
}

/**
 * x·W as a new tensor, for x [m, inner] a float32 tensor on the wasm backend and W [inner, n]
 * row-major floats anywhere (the shared weights), with the bits BatchMatMul(x, W) gives on a
 * tensor of W: W is copied onto the heap a panel of rows at a time (196 KB for the fc model's
 * first layer), each multiplied at once while in cache, so W never has a tensor of its own
 * (12.5 MB written and read again per thread and step for fc). Null, having made nothing, where
 * our product does not run (the caller then makes W a tensor and uses BatchMatMul).
 */
export function productFromFloats(x: tf.Tensor, w: Float32Array, n: number): tf.Tensor | null {
  if (x.dtype !== 'float32' || x.rank !== 2) return null;
  const our = ourProduct();
  if (our === null) return null;
  const { backend, k } = our;
  const [m, inner] = x.shape as [number, number];
  if (w.length !== inner * n) throw new Error(`productFromFloats: ${w.length} floats are not a [${inner}, ${n}] matrix`);
  const kBlock = Math.max(16, Math.min(Math.floor(PANEL_FLOATS / n), strideRows(n * 4)));
  const out = backend.makeOutput([m, n], 'float32');
  const xT = backend.makeOutput([inner, m], 'float32');
  const panel = backend.makeOutput([Math.min(kBlock, inner), n], 'float32');
  try {
    // Offsets and views after the last allocation (one may move the heap's buffer).
    const [xPtr, xTPtr, panelPtr, outPtr] = [heapOffset(backend, x), heapOffset(backend, xT), heapOffset(backend, panel), heapOffset(backend, out)];
    const panelFloats = heapF32(backend, panel);
    k.transpose(xPtr, xTPtr, m, inner);
    const gemm = Math.min(inner, kBlock) * n >= m * inner ? k.gemmColsOuterPacked : k.gemmRowsOuterPacked;
    for (let k0 = 0; k0 < inner; k0 += kBlock) {
      const kc = Math.min(kBlock, inner - k0);
      panelFloats.set(w.subarray(k0 * n, (k0 + kc) * n));
      // Panels after the first add to the sums so far: the bits of one product over all of k.
      gemm(xTPtr + k0 * m * 4, panelPtr, outPtr, m, n, kc, kc, 4, m * 4, n * 4, n * 4, k0 > 0 ? 1 : 0);
    }
  } catch (err) {
    backend.disposeData(out.dataId);
    throw err;
  } finally {
    backend.disposeData(xT.dataId);
    backend.disposeData(panel.dataId);
  }
  return (tf.engine() as unknown as { makeTensorFromTensorInfo(info: tf.TensorInfo, backend: tf.KernelBackend): tf.Tensor }).makeTensorFromTensorInfo(out, backend);
}
