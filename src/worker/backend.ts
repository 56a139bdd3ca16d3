/**
 * Backend selection. `auto` picks a GPU backend when a GPU is asked for
 * (`--gpu N`: tensorflow-gpu, then webgpu), else tensorflow (tfjs-node) when
 * its native library loads, else wasm, else cpu. A GPU that was asked for and
 * cannot be used is an error naming what is missing for each GPU backend,
 * never a silent fall back to the CPU; a software WebGPU adapter is used only
 * when webgpu is asked for by name without `--gpu`.
 *
 * The loader is injectable so the selection logic is tested without the native
 * packages (which cannot install offline) and without a GPU.
 */
import * as tf from './tf.js';
import type { BackendName } from '../shared/config.js';
import { webGpuKind } from '../shared/backend-kind.js';
import { takesGpu } from '../shared/gpu-backends.js';
import { TrainerError, addressSpaceNote, wasmMemoryError } from '../shared/errors.js';
import type { WebGpuAdapter } from './webgpu.js';
import { wasmSimdOff } from './kernels/wasm-heap.js';

export const GPU_REQUIREMENTS =
  'tfjs-node-gpu 4.22 needs @tensorflow/tfjs-node-gpu installed with internet (its installer downloads libtensorflow), an NVIDIA driver, ' +
  'and CUDA 11.2 and cuDNN 8.1 libraries (libcudart.so.11.0, libcudnn.so.8) on the library path';

export interface BackendLoader {
  /** Imports @tensorflow/tfjs-node (gpu = false) or @tensorflow/tfjs-node-gpu; throws when the native library cannot load. */
  loadNative(gpu: boolean): Promise<void>;
  /** Imports @tensorflow/tfjs-backend-wasm and registers the training kernels it lacks. */
  loadWasm(): Promise<void>;
  /** Loads Dawn and tfjs-backend-webgpu and makes webgpu the tfjs backend: the N-th hardware adapter, or any (null). */
  loadWebGpu(gpu: number | null): Promise<WebGpuAdapter>;
  setBackend(name: 'tensorflow' | 'wasm' | 'cpu'): Promise<boolean>;
  /** tf.backend().isUsingGpuDevice for the tensorflow backend. */
  isUsingGpu(): boolean;
}

export interface SelectedBackend {
  /** What was asked for, resolved: never 'auto'. */
  name: Exclude<BackendName, 'auto'>;
  /** The tfjs backend registered and in use. */
  tfBackend: 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';
  /** Why auto chose it, what it fell back from, or the device (for the start-up line). */
  detail: string;
  /**
   * What results are bit-identical across: the backend, and for GPU backends
   * the device model. Workers of one kind give the same weights hash.
   */
  kind: string;
  /** It computes on a GPU: tensorflow-gpu, or webgpu on a hardware adapter (not lavapipe's). */
  gpu: boolean;
}

/** The start-up line naming the backend that computes: `backend: wasm (tfjs-node not available)`. */
export const backendLine = (b: SelectedBackend): string => `backend: ${b.name}${b.detail ? ` (${b.detail})` : ''}`;

/** A micro-batch smaller than this leaves a GPU mostly waiting: on an H200, 16 images took 21 ms, 1,024 took 44 (webgpu, 2026-12-04). */
export const GPU_MICRO_BATCH = 128;

/** What to tell a user whose GPU gets micro-batches of `microBatch` images, or null when they are large enough. */
export function gpuMicroBatchNote(microBatch: number): string | null {
  if (microBatch <= 0 || microBatch >= GPU_MICRO_BATCH) return null;
  return `micro-batches of ${microBatch} images leave a GPU mostly waiting: it does better with ${GPU_MICRO_BATCH} or more (configs/cifar3-gpu.yaml; README, GPU workers and micro-batches)`;
}

const firstLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';

export const defaultLoader: BackendLoader = {
  async loadNative(gpu) {
    // Specifiers in variables: both packages are optional and absent offline.
    const pkg = gpu ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
    // Found first (absent, as offline, it fails here): it takes classes of tfjs-layers from the bundle.
    tf.requireTfjs.resolve(pkg);
    tf.completeTfjs();
    tf.requireTfjs(pkg);
  },
  async loadWasm() {
    tf.requireTfjs('@tensorflow/tfjs-backend-wasm');
    const { registerWasmTrainingKernels } = await import('./kernels/index.js');
    registerWasmTrainingKernels();
  },
  async loadWebGpu(gpu) {
    const { loadWebGpu } = await import('./webgpu.js');
    const adapterName = process.env.TRAINER_WEBGPU_ADAPTER || undefined;
    return loadWebGpu({ gpu, ...(adapterName ? { adapterName } : {}), onFatal: (m) => process.emitWarning(m) });
  },
  async setBackend(name) {
    const ok = await tf.setBackend(name);
    await tf.ready();
    return ok;
  },
  isUsingGpu() {
    const b = tf.backend() as unknown as { isUsingGpuDevice?: boolean };
    return b.isUsingGpuDevice === true;
  },
};

/**
 * Sets the environment TensorFlow reads when it loads. It uses the last
 * visible device, so `--gpu N` means "only device N is visible"; where the
 * scheduler already chose devices (Slurm, containers set CUDA_VISIBLE_DEVICES),
 * N counts among those, as `cuda:N` does in PyTorch. Kernels are made
 * deterministic (same inputs, same bits) unless the user set otherwise.
 */
export function gpuEnvironment(gpu: number, env: NodeJS.ProcessEnv): void {
  // Slurm writes NoDevFiles when the job was given no GPU.
  if (env.CUDA_VISIBLE_DEVICES === 'NoDevFiles') throw new TrainerError('E_BACKEND', `--gpu ${gpu}: this job was given no GPU (CUDA_VISIBLE_DEVICES=NoDevFiles)`);
  const visible = env.CUDA_VISIBLE_DEVICES?.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (visible && visible.length > 0) {
    const device = visible[gpu];
    if (device === undefined) {
      throw new TrainerError('E_BACKEND', `--gpu ${gpu}: only ${visible.length} device(s) visible (CUDA_VISIBLE_DEVICES=${env.CUDA_VISIBLE_DEVICES})`);
    }
    env.CUDA_VISIBLE_DEVICES = device;
  } else {
    env.CUDA_VISIBLE_DEVICES = String(gpu);
  }
  env.TF_FORCE_GPU_ALLOW_GROWTH = 'true';
  deterministicTensorflow(env);
}

/** TensorFlow's switches for deterministic kernels, read when it loads. */
function deterministicTensorflow(env: NodeJS.ProcessEnv): void {
  env.TF_DETERMINISTIC_OPS ??= '1';
  env.TF_CUDNN_DETERMINISTIC ??= '1';
}

const nativeGpuDidNotLoad = (err: unknown) =>
  new TrainerError('E_BACKEND', `tensorflow-gpu: @tensorflow/tfjs-node-gpu did not load (${firstLine(err)}); ${GPU_REQUIREMENTS}`);

/** What auto says when GPU `gpu` was asked for and each GPU backend said why not. */
const noGpuBackend = (gpu: number, whyNot: readonly string[]) => new TrainerError('E_BACKEND', `--gpu ${gpu}: no GPU backend is usable. ${whyNot.join(' | ')}`);

async function tensorflowGpu(gpu: number | null, loader: BackendLoader, env: NodeJS.ProcessEnv): Promise<SelectedBackend> {
  if (gpu !== null) gpuEnvironment(gpu, env);
  else deterministicTensorflow(env);
  const where = gpu !== null ? ` (CUDA_VISIBLE_DEVICES=${env.CUDA_VISIBLE_DEVICES})` : '';
  try {
    await loader.loadNative(true);
  } catch (err) {
    throw nativeGpuDidNotLoad(err);
  }
  if (!(await loader.setBackend('tensorflow'))) {
    throw new TrainerError('E_BACKEND', `tensorflow-gpu: the tensorflow backend did not initialise; ${GPU_REQUIREMENTS}`);
  }
  if (!loader.isUsingGpu()) throw new TrainerError('E_BACKEND', `tensorflow-gpu: TensorFlow sees no usable GPU${where}; ${GPU_REQUIREMENTS}`);
  const detail = gpu !== null ? `GPU ${gpu}` : 'GPU';
  return { name: 'tensorflow-gpu', tfBackend: 'tensorflow', detail, kind: 'tensorflow-gpu', gpu: true };
}

/** E_BACKEND for webgpu failing to load, with what it needs unless the error says all there is to say. */
async function webGpuError(err: unknown): Promise<TrainerError> {
  const { WEBGPU_REQUIREMENTS, isCompleteWebGpuError } = await import('./webgpu.js');
  return new TrainerError('E_BACKEND', `webgpu: ${firstLine(err)}${isCompleteWebGpuError(err) ? '' : `; ${WEBGPU_REQUIREMENTS}`}`);
}

/**
 * For worker threads that each load webgpu once welcomed: E_BACKEND now, from this thread, where
 * Dawn does not load or --gpu N names no adapter it sees (webgpu.ts checkWebGpu).
 */
export async function checkWebGpuForThreads(gpu: number | null): Promise<void> {
  try {
    const { checkWebGpu } = await import('./webgpu.js');
    await checkWebGpu(gpu, process.env.TRAINER_WEBGPU_ADAPTER || undefined);
  } catch (err) {
    throw await webGpuError(err);
  }
}

/**
 * For a worker given --gpu N and no --backend, whose backend (the run's: auto, tensorflow-gpu or
 * webgpu) comes with the coordinator's welcome: E_BACKEND now, auto's line, where no GPU backend
 * can take GPU N. It was said once a coordinator answered: a worker a scheduler started first
 * retried for minutes, then failed in its join. Nothing is loaded, so a usable GPU is taken as
 * before, at the join: tensorflow-gpu passes when its package is there (whether TensorFlow sees
 * the GPU is known only once it loads), webgpu when Dawn sees a hardware adapter N.
 */
export async function checkGpuBackends(gpu: number, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const whyNot: string[] = [];
  try {
    gpuEnvironment(gpu, { ...env }); // a copy: the join sets what TensorFlow reads, once
  } catch (err) {
    whyNot.push(firstLine(err));
  }
  if (whyNot.length === 0) {
    try {
      tf.requireTfjs.resolve('@tensorflow/tfjs-node-gpu');
      return;
    } catch (err) {
      whyNot.push(nativeGpuDidNotLoad(err).message);
    }
  }
  try {
    await checkWebGpuForThreads(gpu);
    return;
  } catch (err) {
    whyNot.push(firstLine(err));
  }
  throw noGpuBackend(gpu, whyNot);
}

async function webgpu(gpu: number | null, loader: BackendLoader): Promise<SelectedBackend> {
  let a: WebGpuAdapter;
  try {
    a = await loader.loadWebGpu(gpu);
  } catch (err) {
    throw await webGpuError(err);
  }
  const detail = `${a.description}${a.software ? ' (software)' : ''}`;
  return { name: 'webgpu', tfBackend: 'webgpu', detail, kind: webGpuKind(a.device), gpu: !a.software };
}

export async function selectBackend(
  requested: BackendName,
  gpu: number | null,
  loader: BackendLoader = defaultLoader,
  env: NodeJS.ProcessEnv = process.env,
): Promise<SelectedBackend> {
  if (gpu !== null && !takesGpu(requested)) {
    throw new TrainerError('E_CONFIG', `--gpu ${gpu} needs backend tensorflow-gpu, webgpu or auto, got backend ${requested}`);
  }
  if (requested === 'webgpu') return webgpu(gpu, loader);
  if (requested === 'tensorflow-gpu') return tensorflowGpu(gpu, loader, env);
  if (requested === 'auto' && gpu !== null) {
    // A GPU asked for: each GPU backend in turn, and if none works, why each did not.
    const whyNot: string[] = [];
    for (const attempt of [() => tensorflowGpu(gpu, loader, env), () => webgpu(gpu, loader)]) {
      try {
        return await attempt();
      } catch (err) {
        whyNot.push(firstLine(err));
      }
    }
    throw noGpuBackend(gpu, whyNot);
  }

  if (requested === 'tensorflow' || requested === 'auto') {
    deterministicTensorflow(env);
    try {
      await loader.loadNative(false);
      if (await loader.setBackend('tensorflow')) return { name: 'tensorflow', tfBackend: 'tensorflow', detail: 'tfjs-node', kind: 'tensorflow', gpu: false };
      if (requested === 'tensorflow') throw new Error('the tensorflow backend did not initialise');
    } catch (err) {
      if (requested === 'tensorflow') {
        throw new TrainerError(
          'E_BACKEND',
          `backend tensorflow: @tensorflow/tfjs-node did not load (${firstLine(err)}); @tensorflow/tfjs-node needs libtensorflow, ` +
            'which its installer downloads (see README, "offline installs"); use --backend wasm meanwhile',
        );
      }
    }
  }

  const nativeNote = requested === 'auto' ? 'tfjs-node not available' : '';
  if (requested === 'wasm' || requested === 'auto') {
    try {
      await loader.loadWasm();
      if (await loader.setBackend('wasm')) return { name: 'wasm', tfBackend: 'wasm', detail: nativeNote, kind: wasmKind(), gpu: false };
      // tfjs prints why on its own ("failed to asynchronously prepare wasm: RangeError: ... Out of
      // memory") and only says false here: an address-space limit is the usual cause, and is named.
      const limited = addressSpaceNote();
      throw new Error(`the wasm backend did not initialise${limited ? `; ${limited}` : ''}`);
    } catch (err) {
      if (requested === 'wasm') throw wasmMemoryError(err) ?? new TrainerError('E_BACKEND', `backend wasm did not load: ${firstLine(err)}`);
    }
  }

  if (requested !== 'cpu' && requested !== 'auto') throw new TrainerError('E_BACKEND', `unknown backend ${JSON.stringify(requested)}`);
  if (!(await loader.setBackend('cpu'))) throw new TrainerError('E_BACKEND', 'the cpu backend did not initialise');
  return { name: 'cpu', tfBackend: 'cpu', detail: requested === 'auto' ? 'tfjs-node and wasm not available' : '', kind: 'cpu', gpu: false };
}

/**
 * The wasm backend's kind. Our matrix products, convolutions, convolution filter gradients and
 * tanh use relaxed SIMD's multiply-add, which rounds once per step on CPUs with FMA and twice on
 * those without (or with TRAINER_WASM_FMA=0; every module decides the same way), and
 * TRAINER_WASM_SIMD=0 computes with tfjs's stock kernels: each gives other last bits. A one-element
 * product tells fused from unfused: -1·(1+2^-11) + (1+2^-12)^2 is 2^-24 exactly when the
 * multiply-add is fused, and 0 when the square is rounded first (a tie, to 1+2^-11).
 */
export function wasmKind(): string {
  if (tf.getBackend() !== 'wasm') return 'wasm';
  if (wasmSimdOff()) return 'wasm stock-kernels';
  const probe = tf.tidy(() => tf.matMul(tf.tensor2d([[-1, 1 + 2 ** -12]]), tf.tensor2d([[1 + 2 ** -11], [1 + 2 ** -12]])).dataSync()[0]);
  return probe === 2 ** -24 ? 'wasm' : 'wasm no-fma';
}
