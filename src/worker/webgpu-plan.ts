/**
 * GPU command plans for the webgpu backend, as CUDA graphs are for CUDA: one gradient of a
 * micro-batch size is computed through tfjs's engine while every GPU command it issues is
 * recorded (the compute dispatches with their pipelines and bindings, the buffer copies, and the
 * bytes written from the host: uniforms, constants); later gradients of that size replay the
 * commands on buffers of the plan's own, with the new images, labels and weights written into
 * its input buffers, in one command buffer and one readback. tfjs's per-operation work (its
 * engine, tape, uniform packing, bind groups: about 10 ms of the CPU a gradient of `net`, 116
 * kernels, measured on lavapipe, where a gradient of one image took 19 ms) is then not done again.
 *
 * The same shaders run on the same values in the same order, so the bits are the engine's: a plan
 * is checked once when made (a replay of the recorded inputs must give the recorded output, bit
 * for bit) and refused otherwise, as it is when the recording meets anything it cannot replay
 * (a readback inside the gradient, a buffer read that was written before the recording, a write
 * into an input). A refused size goes through the engine every time.
 *
 * Buffers: tfjs reuses its buffers within a gradient, so a buffer's contents are tracked as
 * versions: a version starts where the host writes into a buffer (replayed once, when the plan is
 * made, or for the inputs at every replay, before the commands run) and where the GPU writes into
 * a buffer whose version the host wrote (so that the host's bytes stay as they were for the next
 * replay). Each version gets a buffer of the plan's.
 */
import * as tf from './tf.js';

/** The parts of Dawn's objects the plans use (no WebGPU types in this project). */
interface GpuBuffer {
  readonly size: number;
  readonly usage: number;
  mapAsync(mode: number): Promise<void>;
  getMappedRange(offset?: number, size?: number): ArrayBuffer;
  unmap(): void;
  destroy(): void;
}
interface BufferBinding {
  buffer: GpuBuffer;
  offset?: number;
  size?: number;
}
interface BindGroupDescriptor {
  layout: unknown;
  entries: { binding: number; resource: BufferBinding }[];
}
interface PassEncoder {
  setPipeline(p: unknown): void;
  setBindGroup(index: number, group: unknown): void;
  dispatchWorkgroups(x: number, y?: number, z?: number): void;
  end(): void;
}
interface CommandEncoder {
  beginComputePass(d?: object): PassEncoder;
  copyBufferToBuffer(src: GpuBuffer, srcOffset: number, dst: GpuBuffer, dstOffset: number, size: number): void;
  finish(): unknown;
}
interface Queue {
  writeBuffer(b: GpuBuffer, offset: number, data: ArrayBufferView | ArrayBuffer, dataOffset?: number, size?: number): void;
  submit(buffers: unknown[]): void;
}
export interface PlanDevice {
  readonly queue: Queue;
  createBuffer(d: { size: number; usage: number }): GpuBuffer;
  createBindGroup(d: BindGroupDescriptor): unknown;
  createCommandEncoder(): CommandEncoder;
}

interface Version {
  size: number;
  usage: number;
  /**
   * input: rewritten from the caller's arrays at each replay; host: written once, when the plan is
   * made; gpu: written by the commands (over the host's bytes of the version before it, if any).
   */
  kind: 'input' | 'host' | 'gpu';
  input: number;
  writes: { offset: number; bytes: Uint8Array }[];
  readByGpu: boolean;
}
type Op =
  | { kind: 'dispatch'; pipeline: unknown; layout: unknown; entries: { binding: number; version: number; offset?: number; size?: number }[]; groups: [number, number, number] }
  | { kind: 'copy'; src: number; srcOffset: number; dst: number; dstOffset: number; size: number };

const MAP_READ = 0x0001;
const MAP_WRITE = 0x0002;
const COPY_SRC = 0x0004;
const COPY_DST = 0x0008;

/**
 * A method of `o`, replaced until the function pushed on `restores` runs (an own property over the
 * prototype's). `make` gets the original bound to `o`, or unbound where `o` is a prototype.
 */
function wrap<T extends object, K extends keyof T>(o: T, key: K, make: (original: T[K]) => T[K], restores: (() => void)[], isPrototype = false): void {
  const original = o[key];
  const had = Object.hasOwn(o, key);
  const given = isPrototype ? original : ((original as (...a: unknown[]) => unknown).bind(o) as T[K]);
  Object.defineProperty(o, key, { value: make(given), configurable: true, writable: true });
  restores.push(() => {
    if (had) Object.defineProperty(o, key, { value: original, configurable: true, writable: true });
    else delete (o as Record<PropertyKey, unknown>)[key as PropertyKey];
  });
}

/** Records the GPU commands of one run; `finish` makes the plan, or says why it cannot. */
export class PlanRecorder {
  private readonly versions: Version[] = [];
  private readonly current = new Map<GpuBuffer, number>();
  private readonly ops: Op[] = [];
  private readonly groups = new Map<unknown, BindGroupDescriptor>();
  private readonly mapped = new Map<GpuBuffer, ArrayBuffer>();
  private readonly restores: (() => void)[] = [];
  private refusal: string | null = null;

  /** Starts recording on `device`; `inputs`: the buffers the caller rewrites at each replay, in its order. */
  constructor(
    private readonly device: PlanDevice,
    private readonly inputs: readonly GpuBuffer[],
    bufferPrototype: GpuBuffer,
  ) {
    inputs.forEach((b, i) => this.current.set(b, this.add({ size: b.size, usage: b.usage, kind: 'input', input: i, writes: [], readByGpu: false })));
    const r = this.restores;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the prototype's wrappers run with the buffer as `this`
    const recorder = this;
    wrap(device.queue, 'writeBuffer', (write) => (b, offset, data, dataOffset = 0, size) => {
      const bytes = data instanceof ArrayBuffer ? new Uint8Array(data, dataOffset, size) : new Uint8Array(data.buffer, data.byteOffset + dataOffset * bytesPer(data), size === undefined ? undefined : size * bytesPer(data));
      this.hostWrite(b, offset, bytes);
      write(b, offset, data, dataOffset, size);
    }, r);
    wrap(device, 'createBindGroup', (create) => (d) => {
      const group = create(d);
      this.groups.set(group, d);
      return group;
    }, r);
    wrap(device, 'createCommandEncoder', (create) => () => this.encoder(create()), r);
    wrap(bufferPrototype, 'getMappedRange', (get) =>
      function (this: GpuBuffer, offset?: number, size?: number) {
        const range = get.call(this, offset, size);
        recorder.mapped.set(this, range);
        return range;
      } as GpuBuffer['getMappedRange'], r, true);
    wrap(bufferPrototype, 'unmap', (unmap) =>
      function (this: GpuBuffer) {
        const range = recorder.mapped.get(this);
        if (range !== undefined) {
          recorder.mapped.delete(this);
          recorder.hostWrite(this, 0, new Uint8Array(range));
        }
        unmap.call(this);
      } as GpuBuffer['unmap'], r, true);
    wrap(bufferPrototype, 'mapAsync', (map) =>
      function (this: GpuBuffer, mode: number) {
        if ((mode & MAP_READ) !== 0) recorder.refuse('it reads a buffer back');
        return map.call(this, mode);
      } as GpuBuffer['mapAsync'], r, true);
  }

  /** Ends the recording (restoring what it wrapped); idempotent. */
  stop(): void {
    for (const restore of this.restores.splice(0).reverse()) restore();
  }

  /** The plan of what was recorded, whose output is `output`'s contents at the end; or why there is none. */
  finish(output: GpuBuffer): { plan: GpuPlan | null; reason: string } {
    this.stop();
    const out = this.current.get(output);
    if (this.refusal === null && out === undefined) this.refuse('its output was not computed on the GPU');
    if (this.refusal !== null) return { plan: null, reason: this.refusal };
    return { plan: new GpuPlan(this.device, this.versions, this.ops, out as number, this.inputs.length), reason: '' };
  }

  private add(v: Version): number {
    this.versions.push(v);
    return this.versions.length - 1;
  }

  refuse(why: string): void {
    this.refusal ??= why;
  }

  private hostWrite(b: GpuBuffer, offset: number, bytes: Uint8Array): void {
    const at = this.current.get(b);
    const v = at === undefined ? undefined : this.versions[at];
    if (v?.kind === 'input') return this.refuse('it writes into an input from the host');
    const write = { offset, bytes: bytes.slice() };
    if (v !== undefined && v.kind === 'host' && !v.readByGpu) v.writes.push(write);
    else this.current.set(b, this.add({ size: b.size, usage: b.usage, kind: 'host', input: -1, writes: [write], readByGpu: false }));
  }

  private read(b: GpuBuffer): number {
    const at = this.current.get(b);
    if (at === undefined) {
      this.refuse('it reads a buffer written before the recording');
      return -1;
    }
    (this.versions[at] as Version).readByGpu = true;
    return at;
  }

  private gpuWrite(b: GpuBuffer): number {
    const at = this.current.get(b);
    const v = at === undefined ? undefined : this.versions[at];
    if (v?.kind === 'input') {
      this.refuse('it writes into an input on the GPU');
      return -1;
    }
    if (v?.kind === 'gpu') return at as number;
    // The host's bytes stay where the GPU does not write (a copy into part of the buffer), as they did when recorded.
    const fresh = this.add({ size: b.size, usage: b.usage, kind: 'gpu', input: -1, writes: v?.writes.slice() ?? [], readByGpu: false });
    this.current.set(b, fresh);
    return fresh;
  }

  private encoder(e: CommandEncoder): CommandEncoder {
    const r: (() => void)[] = [];
    wrap(e, 'copyBufferToBuffer', (copy) => (src, srcOffset, dst, dstOffset, size) => {
      const s = this.read(src);
      this.ops.push({ kind: 'copy', src: s, srcOffset, dst: this.gpuWrite(dst), dstOffset, size });
      copy(src, srcOffset, dst, dstOffset, size);
    }, r);
    wrap(e, 'beginComputePass', (begin) => (d) => {
      if (d !== undefined && Object.keys(d).length > 0) this.refuse('a compute pass with timestamps (a profiler)');
      return this.pass(begin(d));
    }, r);
    return e;
  }

  private pass(p: PassEncoder): PassEncoder {
    let pipeline: unknown = null;
    let group: BindGroupDescriptor | undefined;
    const r: (() => void)[] = [];
    wrap(p, 'setPipeline', (set) => (x) => {
      pipeline = x;
      set(x);
    }, r);
    wrap(p, 'setBindGroup', (set) => (index, g) => {
      group = this.groups.get(g);
      if (index !== 0 || group === undefined) this.refuse('a bind group it did not see made');
      set(index, g);
    }, r);
    wrap(p, 'dispatchWorkgroups', (dispatch) => (x, y = 1, z = 1) => {
      if (group !== undefined) {
        // tfjs binds a program's output first, then its inputs and its uniforms: only the output is written.
        const reads = group.entries.filter((e) => e.binding !== 0).map((e) => ({ e, version: this.read(e.resource.buffer) }));
        const written = group.entries.filter((e) => e.binding === 0).map((e) => ({ e, version: this.gpuWrite(e.resource.buffer) }));
        const entries = [...written, ...reads].map(({ e, version }) => ({ binding: e.binding, version, ...optional(e.resource) }));
        this.ops.push({ kind: 'dispatch', pipeline, layout: group.layout, entries, groups: [x, y, z] });
      }
      dispatch(x, y, z);
    }, r);
    return p;
  }
}

function optional(b: { offset?: number; size?: number }): { offset?: number; size?: number } {
  return { ...(b.offset !== undefined ? { offset: b.offset } : {}), ...(b.size !== undefined ? { size: b.size } : {}) };
}

function bytesPer(v: ArrayBufferView): number {
  return 'BYTES_PER_ELEMENT' in v ? (v as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT : 1;
}

/** A recorded gradient, replayed on buffers of its own. */
export class GpuPlan {
  private readonly buffers: GpuBuffer[];
  private readonly inputBuffers: GpuBuffer[];
  private readonly groups: unknown[];
  private readonly readback: GpuBuffer;
  /** Whether a replay waits for its readback (the readback buffer is mapped then). */
  private running = false;

  constructor(
    private readonly device: PlanDevice,
    private readonly versions: readonly Version[],
    private readonly ops: readonly Op[],
    private readonly output: number,
    inputs: number,
  ) {
    this.buffers = versions.map((v) => device.createBuffer({ size: v.size, usage: (v.usage & ~(MAP_READ | MAP_WRITE)) | COPY_SRC | COPY_DST }));
    versions.forEach((v, i) => {
      for (const w of v.writes) device.queue.writeBuffer(this.buffers[i] as GpuBuffer, w.offset, w.bytes);
    });
    this.inputBuffers = Array.from({ length: inputs }, (_, k) => this.buffers[versions.findIndex((v) => v.kind === 'input' && v.input === k)] as GpuBuffer);
    this.groups = ops.map((op) =>
      op.kind === 'dispatch'
        ? device.createBindGroup({ layout: op.layout, entries: op.entries.map((e) => ({ binding: e.binding, resource: { buffer: this.buffers[e.version] as GpuBuffer, ...optional(e) } })) })
        : null,
    );
    this.readback = device.createBuffer({ size: (versions[output] as Version).size, usage: MAP_READ | COPY_DST });
  }

  /**
   * The output's floats for `inputs` (the recording's inputs, in order, each the size it had),
   * written to the GPU before this returns its promise. One replay at a time, as a worker computes
   * one micro-batch at a time on a computer: a second while one waits for its readback throws.
   */
  async replay(inputs: readonly ArrayBufferView[]): Promise<Float32Array> {
    if (this.running) throw new Error('GPU plan replayed while a replay of it is in progress');
    const { device } = this;
    inputs.forEach((data, k) => {
      const b = this.inputBuffers[k] as GpuBuffer;
      if (data.byteLength !== b.size) throw new Error(`GPU plan input ${k}: ${data.byteLength} bytes, the recording had ${b.size}`);
      // Shared memory (the weights of --threads) is copied first: given to Dawn as it is, the process
      // crashed (SIGSEGV) when the thread released its device.
      device.queue.writeBuffer(b, 0, data.buffer instanceof SharedArrayBuffer ? copyOf(data) : data);
    });
    const encoder = device.createCommandEncoder();
    let pass: PassEncoder | null = null;
    this.ops.forEach((op, i) => {
      if (op.kind === 'dispatch') {
        pass ??= encoder.beginComputePass();
        pass.setPipeline(op.pipeline);
        pass.setBindGroup(0, this.groups[i]);
        pass.dispatchWorkgroups(...op.groups);
      } else {
        pass?.end();
        pass = null;
        encoder.copyBufferToBuffer(this.buffers[op.src] as GpuBuffer, op.srcOffset, this.buffers[op.dst] as GpuBuffer, op.dstOffset, op.size);
      }
    });
    (pass as PassEncoder | null)?.end();
    const out = this.buffers[this.output] as GpuBuffer;
    encoder.copyBufferToBuffer(out, 0, this.readback, 0, out.size);
    device.queue.submit([encoder.finish()]);
    this.running = true;
    try {
      await this.readback.mapAsync(MAP_READ);
      try {
        return new Float32Array(this.readback.getMappedRange().slice(0));
      } finally {
        this.readback.unmap();
      }
    } finally {
      this.running = false;
    }
  }

  /** Frees its buffers. */
  dispose(): void {
    for (const b of this.buffers) b.destroy();
    this.readback.destroy();
  }
}

/** What recordGpuPlan needs of tfjs-backend-webgpu's backend (4.22). */
interface WebGpuBackendInternals {
  device: PlanDevice;
  commandEncoder: unknown;
  tensorMap: { get(id: object): { resource: unknown } | undefined };
  uploadToGPU(id: object): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
}

/** Submits what tfjs has encoded and not yet submitted. */
function flush(b: WebGpuBackendInternals): void {
  b.endComputePassEncoder();
  if (b.commandEncoder) b.submitQueue();
}

/** A copy of a view's bytes, as the same kind of array. */
function copyOf(v: ArrayBufferView): ArrayBufferView {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength).slice();
}

/**
 * `run` through tfjs's engine on the webgpu backend, recorded: its output's floats, and the plan
 * that replays it for other values of `inputs` (tensors whose values are still on the host: fresh
 * ones), or why none could be made. The plan is checked: a replay of these inputs gave the
 * engine's floats, bit for bit.
 */
export async function recordGpuPlan(inputs: readonly tf.Tensor[], run: () => tf.Tensor): Promise<{ values: Float32Array; plan: GpuPlan | null; reason: string }> {
  const backend = tf.backend() as unknown as WebGpuBackendInternals;
  // Their bytes now: uploading them leaves no copy on the host.
  const hosts = inputs.map((t) => copyOf(t.dataSync()));
  for (const t of inputs) backend.uploadToGPU(t.dataId);
  flush(backend);
  const buffers = inputs.map((t) => backend.tensorMap.get(t.dataId)?.resource as GpuBuffer);
  const bufferPrototype = (globalThis as unknown as { GPUBuffer: { prototype: GpuBuffer } }).GPUBuffer.prototype;
  const recorder = new PlanRecorder(backend.device, buffers, bufferPrototype);
  let output: tf.Tensor;
  try {
    output = run();
    flush(backend);
  } finally {
    recorder.stop();
  }
  const made = recorder.finish(backend.tensorMap.get(output.dataId)?.resource as GpuBuffer);
  let values: Float32Array;
  try {
    values = (await output.data()) as Float32Array;
  } finally {
    output.dispose();
  }
  if (made.plan === null) return { values, plan: null, reason: made.reason };
  const again = await made.plan.replay(hosts);
  if (again.length !== values.length || !again.every((x, i) => Object.is(x, values[i]))) {
    made.plan.dispose();
    return { values, plan: null, reason: 'its replay gave other bits than the engine' };
  }
  return { values, plan: made.plan, reason: '' };
}
