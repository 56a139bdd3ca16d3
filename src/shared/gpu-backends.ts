/**
 * Which backends take a GPU by number (--gpu N, cluster.gpus): the one rule the config, the
 * worker's flags and the backend loader share, and `--gpus`. A file of its own, without the
 * config's dependencies: compute threads load the backend loader.
 */
import { TrainerError } from './errors.js';

/** auto tries tensorflow-gpu, then webgpu. */
const GPU_BACKENDS: readonly string[] = ['auto', 'tensorflow-gpu', 'webgpu'];

export function takesGpu(backend: string): boolean {
  return GPU_BACKENDS.includes(backend);
}

/** `--gpus 0,1` as device indices. */
export function parseGpuList(text: string): number[] {
  const parts = text.split(',').map((s) => s.trim());
  if (parts.length === 0 || parts.some((p) => !/^\d+$/.test(p))) {
    throw new TrainerError('E_USAGE', `--gpus must be a comma-separated list of device indices, e.g. 0,1; got ${JSON.stringify(text)}`);
  }
  return parts.map(Number);
}
