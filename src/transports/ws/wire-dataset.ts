/**
 * The training and validation sets as one blob, the unit a coordinator sends
 * a joining worker and a worker keeps in its cache, named by its sha256:
 *
 *   "TRDSET01", u32 LE train count, u32 LE val count,
 *   train images (count × 3072), train labels, val images, val labels.
 */
import { createHash, createHmac } from 'node:crypto';
import { IMAGE_BYTES, type Dataset } from '../../data/cifar-format.js';
import { TrainerError } from '../../shared/errors.js';

const MAGIC = 'TRDSET01';
const HEADER_BYTES = 16;

export interface WireDatasets {
  train: Dataset;
  val: Dataset;
}

export function datasetBlob(d: WireDatasets): Buffer {
  const size = (x: Dataset) => x.count * (IMAGE_BYTES + 1);
  const out = Buffer.alloc(HEADER_BYTES + size(d.train) + size(d.val));
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(d.train.count, 8);
  out.writeUInt32LE(d.val.count, 12);
  let at = HEADER_BYTES;
  for (const x of [d.train, d.val]) {
    out.set(x.images.subarray(0, x.count * IMAGE_BYTES), at);
    at += x.count * IMAGE_BYTES;
    out.set(x.labels.subarray(0, x.count), at);
    at += x.count;
  }
  return out;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The datasets in a blob (views of it); E_DATA when it is not one. */
export function parseDatasetBlob(blob: Uint8Array): WireDatasets {
  const b = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  if (b.length < HEADER_BYTES || b.toString('latin1', 0, 8) !== MAGIC) throw new TrainerError('E_DATA', 'not a dataset blob');
  const counts = [b.readUInt32LE(8), b.readUInt32LE(12)] as const;
  if (b.length !== HEADER_BYTES + (counts[0] + counts[1]) * (IMAGE_BYTES + 1)) {
    throw new TrainerError('E_DATA', `dataset blob of ${b.length} bytes does not hold ${counts[0]} + ${counts[1]} images`);
  }
  let at = HEADER_BYTES;
  const take = (count: number): Dataset => {
    const images = blob.subarray(at, at + count * IMAGE_BYTES);
    at += count * IMAGE_BYTES;
    const labels = blob.subarray(at, at + count);
    at += count;
    return { images, labels, count };
  };
  const train = take(counts[0]);
  const val = take(counts[1]);
  return { train, val };
}

/** Ranges of the blob a dataset proof covers, and their size. */
export const PROOF_RANGES = 16;
export const PROOF_RANGE_BYTES = 4096;

/**
 * Proof that a worker holds the dataset's bytes, not just its (public) sha256:
 * HMAC-SHA256 keyed by the coordinator's fresh `nonce` over PROOF_RANGES
 * ranges of the blob at offsets the nonce picks. A worker holding a fraction
 * f of the blob answers right with probability at most f^16 (1 in 65,536 at
 * half), and an answer is useless for another nonce. Both sides compute it;
 * a few hashes of 4 kB, whatever the dataset's size.
 */
export function datasetProof(blob: Uint8Array, nonce: Uint8Array): Uint8Array {
  const span = Math.min(PROOF_RANGE_BYTES, blob.length);
  const places = BigInt(blob.length - span + 1);
  const mac = createHmac('sha256', nonce);
  for (let i = 0; i < PROOF_RANGES; i++) {
    const pick = createHmac('sha256', nonce).update(`range ${i}`).digest();
    const at = Number(pick.readBigUInt64LE(0) % places);
    mac.update(blob.subarray(at, at + span));
  }
  return mac.digest();
}
