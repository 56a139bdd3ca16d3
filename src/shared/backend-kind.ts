/**
 * How a WebGPU adapter appears in a backend kind (`webgpu nvidia-h200`), which workers report,
 * checkpoints store and the parity lines, metrics.jsonl, the report and the dashboard show. A file
 * of its own, without tfjs: the checkpoint reader reads kinds too.
 */

/**
 * Dawn's normalised device name (every run of characters other than letters and digits one dash)
 * without a dash at either end: lavapipe's "llvmpipe (LLVM 15.0.6, 256 bits)" is Dawn's
 * "llvmpipe-llvm-15-0-6-256-bits-", its closing bracket a dash, and the kind showed it.
 */
export function webGpuKind(device: string): string {
  return `webgpu ${device.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')}`;
}

/** A kind as this build writes it: a checkpoint of an older build holds `webgpu llvmpipe-…-bits-`, the same adapter. */
export function currentKind(kind: string): string {
  return kind.startsWith('webgpu ') ? webGpuKind(kind.slice('webgpu '.length)) : kind;
}
