/**
 * Which backends take a GPU by number (--gpu N, cluster.gpus): the one rule the config, the
 * worker's flags and the backend loader share. A file of its own, without the config's
 * dependencies: compute threads load the backend loader.
 */

/** auto tries tensorflow-gpu, then webgpu. */
const GPU_BACKENDS: readonly string[] = ['auto', 'tensorflow-gpu', 'webgpu'];

export function takesGpu(backend: string): boolean {
  return GPU_BACKENDS.includes(backend);
}
