/**
 * The training and validation sets in SharedArrayBuffers: held once per
 * process and read by every thread, never copied per thread or per step.
 */
import type { Dataset } from '../../data/cifar-format.js';
import type { LoadedData } from '../../data/dataset.js';

export function isShared(a: ArrayBufferView): boolean {
  return a.buffer instanceof SharedArrayBuffer;
}

/** A dataset whose arrays live in shared memory (the same object when they already do). */
export function shareDataset(d: Dataset): Dataset {
  if (isShared(d.images) && isShared(d.labels)) return d;
  const images = new Uint8Array(new SharedArrayBuffer(d.images.byteLength));
  images.set(d.images);
  const labels = new Uint8Array(new SharedArrayBuffer(d.labels.byteLength));
  labels.set(d.labels);
  return { images, labels, count: d.count };
}

/** Moves `data` into shared memory in place, so the private copies can be collected. */
export function shareLoadedData(data: LoadedData): LoadedData {
  data.train = shareDataset(data.train);
  data.val = shareDataset(data.val);
  return data;
}
