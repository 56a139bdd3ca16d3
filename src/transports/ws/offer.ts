/**
 * What the coordinator offers a joining WebSocket worker, fixed for the whole
 * run: the welcome (model, normalisation, backend, batch bound, dataset hash),
 * the dataset blob in `cluster.dataChunkBytes` pieces, and the per-connection
 * limits derived from the config. Built once; every connection reads it.
 */
import type { Config } from '../../shared/config.js';
import type { LoadedData } from '../../data/dataset.js';
import type { Normalization } from '../../data/normalize.js';
import type { ModelSpec } from '../../worker/model.js';
import { arrayFrameBytes, FRAME_OVERHEAD_BYTES } from './protocol.js';
import { datasetBlob, sha256Hex } from './wire-dataset.js';
import { maxTaskBatch } from '../pool.js';
import type { ConnLimits, Welcome } from './connection.js';

export class JoinOffer {
  readonly welcome: Welcome;
  readonly limits: ConnLimits;
  /** The dataset blob workers receive and prove they hold. */
  readonly blob: Buffer;
  private readonly chunkBytes: number;

  constructor(config: Config, model: ModelSpec, data: LoadedData, normalization: Normalization) {
    const c = config.cluster;
    this.blob = datasetBlob(data);
    this.chunkBytes = c.dataChunkBytes;
    const weightsFrameBytes = arrayFrameBytes(model.size);
    this.limits = {
      handshakeTimeoutMs: c.handshakeTimeoutMs,
      heartbeatMs: c.heartbeatMs,
      stepTimeoutMs: c.stepTimeoutMs,
      maxMessagesPerSec: c.maxMessagesPerSec,
      // A worker may fall a few frames behind: the weights of a step or two and the dataset chunk in flight.
      maxPendingBytes: c.maxPendingBytes > 0 ? c.maxPendingBytes : 4 * weightsFrameBytes + 2 * (this.chunkBytes + FRAME_OVERHEAD_BYTES),
    };
    this.welcome = {
      model: model.name,
      modelSize: model.size,
      mean: [...normalization.mean],
      std: [...normalization.std],
      backend: config.backend,
      maxBatch: maxTaskBatch(config),
      microBatch: Math.ceil(config.train.batchSize / config.train.microBatches),
      heartbeatMs: c.heartbeatMs,
      dataset: {
        sha256: sha256Hex(this.blob),
        bytes: this.blob.length,
        trainCount: data.train.count,
        valCount: data.val.count,
        chunks: Math.ceil(this.blob.length / this.chunkBytes),
      },
    };
  }

  /** Piece `index` of the dataset blob (a view, not a copy). */
  datasetChunk(index: number): Uint8Array {
    return this.blob.subarray(index * this.chunkBytes, Math.min(this.blob.length, (index + 1) * this.chunkBytes));
  }
}
