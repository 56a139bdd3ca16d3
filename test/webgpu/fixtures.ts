/**
 * The webgpu tests' common ground (not a test file): whether Dawn finds an
 * adapter here, so those tests skip with the reason where it does not (no
 * `webgpu` package, no Vulkan driver; CI installs Mesa's lavapipe).
 */
import { listWebGpuAdapters } from '../../src/worker/webgpu.js';

let probed: Promise<{ skip: string | null; adapters: string[] }> | null = null;

/** null when the webgpu backend can run here, else why not (for `test(..., { skip })`). */
export async function webgpuSkip(): Promise<string | null> {
  return (await probe()).skip;
}

/** The adapters Dawn lists here (Vulkan device names). */
export async function webgpuAdapters(): Promise<string[]> {
  return (await probe()).adapters;
}

function probe() {
  probed ??= (async () => {
    try {
      const adapters = await listWebGpuAdapters();
      if (adapters.length === 0) return { skip: 'webgpu tests skipped: Dawn finds no Vulkan adapter (apt-get install -t bookworm-backports mesa-vulkan-drivers)', adapters };
      return { skip: null, adapters };
    } catch (err) {
      return { skip: `webgpu tests skipped: the webgpu package does not load (${(err as Error).message.split('\n')[0]})`, adapters: [] };
    }
  })();
  return probed;
}
