/**
 * The webgpu backend: tfjs-backend-webgpu 4.22 on Dawn (npm `webgpu`, whose
 * dawn.node ships inside the package), driving any GPU with a Vulkan driver,
 * no CUDA toolkit. Both packages are optional dependencies.
 *
 * What this relies on (measured; see README "Backends"):
 * - tfjs-backend-webgpu registers its backend at import time only if
 *   globalThis.navigator.gpu exists then, so navigator.gpu is set first and
 *   the import is dynamic. Its own factory takes whatever adapter comes; we
 *   register ours, so the adapter is the one chosen and checked here, and a
 *   lost device or an uncaptured GPU error is reported.
 * - Dawn has no adapter enumeration in JavaScript. Its `adapter=NAME` flag
 *   takes the first adapter whose Vulkan device name contains NAME, and when
 *   none does, the error lists every adapter: that is how they are listed.
 * - adapter.info.isFallbackAdapter is true for CPU adapters (Mesa's lavapipe,
 *   SwiftShader). A software adapter is never taken for a GPU: `--gpu N`
 *   counts hardware adapters only.
 * - Readback is asynchronous only (dataSync needs OffscreenCanvas, which Node
 *   lacks): MicroBatchComputer's async methods serve this backend.
 * - No program with atomics (order-dependent float sums) is on our models'
 *   path; WEBGPU_MATMUL_PROGRAM_TYPE 3 rules out the one atomic matmul
 *   (SplitK) for good, so results are bit-identical run to run.
 */
import * as tf from './tf.js';
import { useOwnWebGpuKernels } from './webgpu-kernels.js';

/** The adapter in use, as Dawn describes it. */
export interface WebGpuAdapter {
  /** The adapter's name and Dawn's description of it (adapterDescription), e.g. "NVIDIA H200: 580.159.04 580.159.4.0". */
  description: string;
  /** Dawn's normalised device name, e.g. "llvmpipe-llvm-15-0-6-256-bits-". */
  device: string;
  vendor: string;
  /** A CPU adapter (lavapipe, SwiftShader): the GPU code path, at CPU speed. */
  software: boolean;
}

export interface WebGpuOptions {
  /**
   * The N-th hardware adapter (--gpu N); null takes Dawn's first adapter,
   * hardware first, software only when there is no other (asked for by name).
   */
  gpu: number | null;
  /** Substring of the adapter's Vulkan device name (TRAINER_WEBGPU_ADAPTER); overrides `gpu`'s choice. */
  adapterName?: string;
  /** Called once if the device is lost or reports an uncaptured error after start-up. */
  onFatal?: (message: string) => void;
}

export const WEBGPU_REQUIREMENTS =
  'backend webgpu needs the npm packages webgpu and @tensorflow/tfjs-backend-webgpu (optional dependencies: npm install without --omit=optional) ' +
  'and a Vulkan driver: libvulkan1 and an ICD (the NVIDIA driver ships one; in containers NVIDIA_DRIVER_CAPABILITIES must include graphics; ' +
  'for a software adapter: apt-get install -t bookworm-backports mesa-vulkan-drivers)';

interface Dawn {
  create(flags: string[]): GpuLike;
  globals: Record<string, unknown>;
}
interface GpuLike {
  requestAdapter(o?: { powerPreference?: string }): Promise<AdapterLike | null>;
}
interface AdapterLike {
  info: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter?: boolean };
  features: { has(name: string): boolean };
  limits: Record<string, number>;
  requestDevice(d: object): Promise<DeviceLike>;
}
/** The error filters of WebGPU's error scopes. */
export type GpuErrorFilter = 'validation' | 'out-of-memory' | 'internal';
export interface DeviceLike {
  lost: Promise<{ reason: string; message: string }>;
  limits: Record<string, number>;
  addEventListener(type: 'uncapturederror', f: (ev: { error: { message: string }; preventDefault(): void }) => void): void;
  pushErrorScope(filter: GpuErrorFilter): void;
  popErrorScope(): Promise<{ message: string } | null>;
  destroy(): void;
}

async function importDawn(): Promise<Dawn> {
  const name = 'webgpu'; // optional dependency: a specifier in a variable keeps tsc from requiring it
  return (await import(name)) as Dawn;
}

const SOFTWARE_NAME = /llvmpipe|lavapipe|swiftshader|softpipe/i;

/** Dawn's normalisation of a device name (adapter.info.device). */
export function normaliseDeviceName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-');
}

/** The Vulkan device names of every adapter Dawn sees, in its order; software ones included. */
export async function listWebGpuAdapters(): Promise<string[]> {
  const dawn = await importDawn();
  try {
    const a = await dawn.create(['adapter=\u0001']).requestAdapter();
    return a === null ? [] : ['?']; // a name never contains \u0001
  } catch (err) {
    // "no suitable backends found\nAvailable adapters:\n * backend: 'vulkan', name: 'llvmpipe (...)'"
    const msg = err instanceof Error ? err.message : String(err);
    return [...msg.matchAll(/^ \* backend: '[^']*', name: '(.*)'$/gm)].map((m) => m[1] as string);
  }
}

/**
 * What loadWebGpu checks before it takes an adapter: Dawn loads, and --gpu N names a hardware
 * adapter it sees (unless an adapter is named). For a worker whose threads each load webgpu: said
 * once, at start, taking no adapter or device in this thread.
 */
export async function checkWebGpu(gpu: number | null, adapterName: string | undefined): Promise<void> {
  await importDawn();
  if (adapterName === undefined && gpu !== null) chooseHardwareAdapter(await listWebGpuAdapters(), gpu);
}

/**
 * Which adapter name to ask Dawn for: the N-th hardware adapter. Dawn can only
 * select by name, first match, so the N-th of several identical GPUs cannot be
 * told apart from the first: that is an error saying how to isolate GPUs.
 */
export function chooseHardwareAdapter(names: readonly string[], gpu: number): string {
  const hardware = names.filter((n) => !SOFTWARE_NAME.test(n));
  const seen = names.length ? names.map((n) => JSON.stringify(n)).join(', ') : 'none';
  const name = hardware[gpu];
  if (name === undefined) {
    // None at all: a driver (or the packages) is what is missing, as WEBGPU_REQUIREMENTS says.
    if (names.length === 0) throw new Error(`--gpu ${gpu}: Dawn sees 0 hardware adapter(s) (adapters: none)`);
    const software = names.find((n) => SOFTWARE_NAME.test(n));
    throw complete(
      `--gpu ${gpu}: Dawn sees ${hardware.length} hardware adapter(s) (adapters: ${seen})` +
        (hardware.length === 0
          ? ": no GPU's Vulkan driver is installed or visible here (the NVIDIA driver ships one; in a container NVIDIA_DRIVER_CAPABILITIES must include graphics)"
          : `: --gpu counts hardware adapters from 0`) +
        (software ? `; without --gpu, --backend webgpu runs on the software adapter ${JSON.stringify(software)} (on the CPU, slowly)` : ''),
    );
  }
  const first = names.findIndex((n) => n.includes(name));
  if (names[first] !== name || hardware.indexOf(name) !== gpu) {
    throw complete(
      `--gpu ${gpu}: adapters ${seen} cannot be told apart by name, and Dawn selects by name; ` +
        'give each worker process one GPU instead (NVIDIA_VISIBLE_DEVICES in a container, Slurm with ConstrainDevices=yes) and use --gpu 0',
    );
  }
  return name;
}

/**
 * An error that says all there is to say: the packages and a driver are there, so the generic
 * "needs the npm packages and a Vulkan driver" (WEBGPU_REQUIREMENTS) would mislead.
 */
function complete(message: string): Error {
  return Object.assign(new Error(message), { complete: true });
}

/** Whether `err` is one of `complete`'s. */
export function isCompleteWebGpuError(err: unknown): boolean {
  return (err as { complete?: unknown } | null)?.complete === true;
}

let held: { device: DeviceLike | null } | null = null;
/** Why the device became unusable (lost, or an uncaptured error), once it has. */
let failure: string | null = null;

/** The reason the webgpu device can no longer compute, or null while it can. */
export function webGpuFailure(): string | null {
  return failure;
}

/** The webgpu device in use, or null when the backend is not loaded (for error scopes and limits). */
export function webGpuDevice(): DeviceLike | null {
  return held?.device ?? null;
}

/**
 * How the start-up line and doctor show an adapter: its Vulkan device name with Dawn's
 * description. Dawn's description is the driver's ("NVIDIA: 580.159.04 580.159.4.0" on an H200,
 * "llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)" on lavapipe), which names no GPU model; its leading
 * vendor word gives way to the name when the name begins with it.
 */
export function adapterDescription(name: string | undefined, description: string): string {
  if (name === undefined || name === '' || description.includes(name)) return description || (name ?? '');
  if (description === '') return name;
  const vendor = /^([^:]+): (.+)$/.exec(description);
  if (vendor !== null && name.toLowerCase().startsWith((vendor[1] as string).toLowerCase())) return `${name}: ${vendor[2] as string}`;
  return `${name} (${description})`;
}

/** Loads Dawn and tfjs-backend-webgpu on the chosen adapter and makes webgpu the tfjs backend. */
export async function loadWebGpu(o: WebGpuOptions): Promise<WebGpuAdapter> {
  const dawn = await importDawn();
  let name = o.adapterName;
  if (name === undefined && o.gpu !== null) name = chooseHardwareAdapter(await listWebGpuAdapters(), o.gpu);
  // GPUBufferUsage, GPUMapMode, ...: tfjs reads them as globals.
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create(name === undefined ? [] : [`adapter=${name}`]);
  // Node 20 has no navigator; later versions have one without gpu.
  const nav = (globalThis as { navigator?: object }).navigator;
  Object.defineProperty(globalThis, 'navigator', { value: Object.assign(Object.create(nav ?? null), { gpu }), configurable: true, writable: true });

  let adapter: Awaited<ReturnType<GpuLike['requestAdapter']>>;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (err) {
    // Dawn's own message for a name that matches nothing is "no suitable backends found", its adapters on later lines.
    if (o.adapterName === undefined) throw err;
    throw complete(`TRAINER_WEBGPU_ADAPTER=${o.adapterName} matches no adapter Dawn sees (adapters: ${(await listWebGpuAdapters().catch(() => [])).map((n) => JSON.stringify(n)).join(', ') || 'none'})`);
  }
  if (adapter === null) throw new Error('Dawn found no Vulkan adapter');
  const i = adapter.info;
  // Dawn's adapter info has the name only normalised ("nvidia-h200"); its list has it as the driver says.
  const named = (n: string | undefined): boolean => n !== undefined && normaliseDeviceName(n) === i.device;
  const shown = named(name) ? name : (await listWebGpuAdapters().catch(() => [])).find(named);
  const info: WebGpuAdapter = {
    description: adapterDescription(shown, i.description) || i.device,
    device: i.device,
    vendor: i.vendor,
    software: i.isFallbackAdapter === true || i.architecture === 'software' || SOFTWARE_NAME.test(i.description),
  };
  // Dawn's null backend (DAWNNODE_BACKEND=null) computes nothing and does not say it is a fallback.
  if (i.device === 'null-backend') throw new Error("Dawn's null backend is selected (DAWNNODE_BACKEND); it computes nothing");
  // TRAINER_WEBGPU_ADAPTER overrides --gpu's choice, a software adapter included (README).
  if (o.gpu !== null && info.software && o.adapterName === undefined) {
    throw complete(`--gpu ${o.gpu}: the adapter is a software one (${info.description}), not a GPU; without --gpu, --backend webgpu runs on it (slowly)`);
  }
  if (o.gpu !== null && name !== undefined && o.adapterName === undefined && normaliseDeviceName(name) !== i.device) {
    throw new Error(`--gpu ${o.gpu}: asked Dawn for ${JSON.stringify(name)}, got ${JSON.stringify(i.device)}`);
  }

  const backendPkg = '@tensorflow/tfjs-backend-webgpu';
  const { WebGPUBackend } = tf.requireTfjs(backendPkg) as { WebGPUBackend: new (device: DeviceLike, info: object) => tf.KernelBackend };
  // tfjs's filter gradient sums a whole micro-batch in one thread per weight (webgpu-kernels.ts).
  useOwnWebGpuKernels();
  if (tf.findBackendFactory('webgpu') !== null) tf.removeBackend('webgpu');
  tf.registerBackend(
    'webgpu',
    async () => {
      const l = adapter.limits;
      // The features and limits tfjs-backend-webgpu's own factory asks for.
      const device = await adapter.requestDevice({
        requiredFeatures: adapter.features.has('timestamp-query') ? ['timestamp-query'] : [],
        requiredLimits: {
          maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
          maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
          maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
          maxBufferSize: l.maxBufferSize,
          maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
          maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
        },
      });
      held = { device };
      failure = null;
      let reported = false;
      const fatal = (m: string) => {
        failure ??= m;
        if (!reported) o.onFatal?.(m);
        reported = true;
      };
      void device.lost.then((lost) => {
        if (lost.reason !== 'destroyed') fatal(`WebGPU device lost: ${lost.message || lost.reason}`);
      });
      device.addEventListener('uncapturederror', (ev) => {
        // Without preventDefault dawn.node also prints the error on stdout (as a browser logs it to
        // its console), which broke `--json` output. Errors of our tasks are caught by error scopes
        // (webgpu-errors.ts); one that reaches here happened outside them and fails the next task.
        ev.preventDefault();
        fatal(`WebGPU error: ${firstLineOf(ev.error.message)}`);
      });
      return new WebGPUBackend(device, i);
    },
    3,
  );
  if (!(await tf.setBackend('webgpu'))) throw new Error('the webgpu backend did not initialise');
  await tf.ready();
  // Never the SplitK matmul, whose atomic float adds depend on scheduling.
  tf.env().set('WEBGPU_MATMUL_PROGRAM_TYPE', 3);
  return info;
}

/** A Dawn message's first line: the error; the lines after it are the calls it happened in. */
export function firstLineOf(message: string): string {
  return (message.split('\n')[0] ?? '').trim();
}

/** Lets the process exit: the backend's buffers and the device go. Safe to call twice. */
export function releaseWebGpu(): void {
  if (tf.findBackend('webgpu') !== null) tf.removeBackend('webgpu');
  held?.device?.destroy();
  held = null;
}
