/**
 * Backend selection. `auto` picks tensorflow-gpu when a GPU is asked for, else
 * tensorflow (tfjs-node) when its native library loads, else wasm, else cpu.
 * A GPU that was asked for and cannot be used is an error, never a silent fall
 * back to the CPU.
 *
 * The loader is injectable so the selection logic is tested without the native
 * packages (which cannot install offline).
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendName } from '../shared/config.js';
import { TrainerError } from '../shared/errors.js';

export const GPU_REQUIREMENTS =
  'tfjs-node-gpu 4.22 needs an NVIDIA driver, CUDA 11.2 and cuDNN 8.1 libraries (libcudart.so.11.0, libcudnn.so.8) on the library path';

export interface BackendLoader {
  /** Imports @tensorflow/tfjs-node (gpu = false) or @tensorflow/tfjs-node-gpu; throws when the native library cannot load. */
  loadNative(gpu: boolean): Promise<void>;
  /** Imports @tensorflow/tfjs-backend-wasm and registers the training kernels it lacks. */
  loadWasm(): Promise<void>;
  setBackend(name: 'tensorflow' | 'wasm' | 'cpu'): Promise<boolean>;
  /** tf.backend().isUsingGpuDevice for the tensorflow backend. */
  isUsingGpu(): boolean;
}

export interface SelectedBackend {
  /** What was asked for, resolved: never 'auto'. */
  name: Exclude<BackendName, 'auto'>;
  /** The tfjs backend registered and in use. */
  tfBackend: 'tensorflow' | 'wasm' | 'cpu';
  /** Why auto chose it, or what it fell back from (for the start-up line). */
  detail: string;
}

const firstLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';

export const defaultLoader: BackendLoader = {
  async loadNative(gpu) {
    // Specifiers in variables: both packages are optional and absent offline.
    const pkg = gpu ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
    await import(pkg);
  },
  async loadWasm() {
    await import('@tensorflow/tfjs-backend-wasm');
    const { registerWasmTrainingKernels } = await import('./kernels/index.js');
    registerWasmTrainingKernels();
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
 * Sets the environment the GPU build reads when it loads: it uses the last
 * visible device, so `--gpu N` means "only device N is visible".
 */
export function gpuEnvironment(gpu: number, env: NodeJS.ProcessEnv): void {
  env.CUDA_VISIBLE_DEVICES = String(gpu);
  env.TF_FORCE_GPU_ALLOW_GROWTH = 'true';
}

export async function selectBackend(
  requested: BackendName,
  gpu: number | null,
  loader: BackendLoader = defaultLoader,
  env: NodeJS.ProcessEnv = process.env,
): Promise<SelectedBackend> {
  if (gpu !== null && requested !== 'auto' && requested !== 'tensorflow-gpu') {
    throw new TrainerError('E_CONFIG', `--gpu ${gpu} needs backend tensorflow-gpu or auto, got backend ${requested}`);
  }
  const wantGpu = requested === 'tensorflow-gpu' || gpu !== null;
  if (wantGpu) {
    if (gpu !== null) gpuEnvironment(gpu, env);
    try {
      await loader.loadNative(true);
    } catch (err) {
      throw new TrainerError(
        'E_BACKEND',
        `GPU requested but @tensorflow/tfjs-node-gpu did not load (${firstLine(err)}); ${GPU_REQUIREMENTS}`,
      );
    }
    if (!(await loader.setBackend('tensorflow'))) {
      throw new TrainerError('E_BACKEND', `GPU requested but the tensorflow backend did not initialise; ${GPU_REQUIREMENTS}`);
    }
    if (!loader.isUsingGpu()) {
      throw new TrainerError(
        'E_BACKEND',
        `GPU requested but TensorFlow sees no usable GPU${gpu !== null ? ` (CUDA_VISIBLE_DEVICES=${gpu})` : ''}; ${GPU_REQUIREMENTS}`,
      );
    }
    return { name: 'tensorflow-gpu', tfBackend: 'tensorflow', detail: gpu !== null ? `GPU ${gpu}` : 'GPU' };
  }

  if (requested === 'tensorflow' || requested === 'auto') {
    try {
      await loader.loadNative(false);
      if (await loader.setBackend('tensorflow')) return { name: 'tensorflow', tfBackend: 'tensorflow', detail: 'tfjs-node' };
      if (requested === 'tensorflow') throw new Error('the tensorflow backend did not initialise');
    } catch (err) {
      if (requested === 'tensorflow') {
        throw new TrainerError(
          'E_BACKEND',
          `backend tensorflow: @tensorflow/tfjs-node did not load (${firstLine(err)}); it needs libtensorflow, ` +
            'which its installer downloads (see README, "offline installs"); use --backend wasm meanwhile',
        );
      }
    }
  }

  const nativeNote = requested === 'auto' ? 'tfjs-node not available' : '';
  if (requested === 'wasm' || requested === 'auto') {
    try {
      await loader.loadWasm();
      if (await loader.setBackend('wasm')) return { name: 'wasm', tfBackend: 'wasm', detail: nativeNote };
      throw new Error('the wasm backend did not initialise');
    } catch (err) {
      if (requested === 'wasm') throw new TrainerError('E_BACKEND', `backend wasm did not load: ${firstLine(err)}`);
    }
  }

  if (!(await loader.setBackend('cpu'))) throw new TrainerError('E_BACKEND', 'the cpu backend did not initialise');
  return { name: 'cpu', tfBackend: 'cpu', detail: requested === 'auto' ? 'tfjs-node and wasm not available' : '' };
}
