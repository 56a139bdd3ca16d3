/**
 * The simulated workers' gradient frames (sim-workers.ts), cut in two: a prefix shared by every
 * result (the frame's head and the model's floats, the same for every task) and a small tail of
 * each result's other fields, so that K workers send every gradient from one buffer of floats.
 *
 * Both parts come from the real encoder (encodeMessage, ArrayFrame): a frame is laid out as a
 * 20-byte head whose first byte counts the fields, the floats from byte ARRAY_OFFSET, then the
 * other fields; so the bytes after the head of a frame with no floats are the tail of a frame of
 * the same fields with any number of them. A hand-made copy of the fields and of the map header
 * broke when protocol 6 added `startedAt`: every simulated gradient was refused ("gradient lacks
 * startedAt") and `npm run bench:scale` measured nothing. Now a new field of the message is a
 * compile error here (the fields are typed by the protocol's message), and a change of the
 * frame's layout is refused when the template is built, by the coordinator's own decoder.
 */
import { TrainerError } from '../../src/shared/errors.js';
import { decodeMessage } from '../../src/transports/ws/decode.js';
import { ARRAY_OFFSET, encodeMessage } from '../../src/transports/ws/encode.js';
import type { MessageOf } from '../../src/transports/ws/protocol.js';

/** A gradient message's fields other than its floats. */
export type GradientFields = Omit<MessageOf<'gradient'>, 'type' | 'gradient'>;

const NO_FLOATS = new Float32Array(0);

export class GradientTemplate {
  /** The frame up to the end of its floats: the same bytes for every result. */
  readonly prefix: Buffer;
  /** The floats every result sends. */
  readonly gradient: Float32Array;

  constructor(modelSize: number) {
    // Small, finite, seeded values; the same for every task, so that any check that
    // compares two workers' results for one task sees identical bits.
    const gradient = new Float32Array(modelSize);
    let s = 0x9e3779b9;
    for (let i = 0; i < gradient.length; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      gradient[i] = (s / 2 ** 32 - 0.5) * 1e-3;
    }
    const sample: GradientFields = { taskId: 1, step: 0, version: 0, lossSum: 1, correct: 0, count: 16, computeMs: 1.5, startedAt: Date.now() };
    const whole = encodeMessage({ type: 'gradient', ...sample, gradient });
    this.prefix = Buffer.from(whole.buffer, whole.byteOffset, ARRAY_OFFSET + modelSize * 4);
    this.gradient = gradient;
    // The frame must read back as the same gradient through the coordinator's own decoder.
    const check = decodeMessage(Buffer.concat([this.prefix, this.tail(sample)]), 'worker');
    if (check.type !== 'gradient' || check.gradient.length !== modelSize || check.startedAt !== sample.startedAt || check.gradient[modelSize - 1] !== gradient[modelSize - 1]) {
      throw new TrainerError('E_INTERNAL', 'sim: the gradient template does not decode as the gradient it was made from');
    }
  }

  /** The bytes after the floats for a result of these fields: `prefix` then this is the whole frame. */
  tail(fields: GradientFields): Buffer {
    const frame = encodeMessage({ type: 'gradient', ...fields, gradient: NO_FLOATS });
    // The head's first byte is the map's entry count: the same fields, the same byte.
    if (frame[0] !== this.prefix[0]) throw new TrainerError('E_INTERNAL', 'sim: a gradient result has other fields than the template');
    return Buffer.from(frame.buffer, frame.byteOffset + ARRAY_OFFSET, frame.length - ARRAY_OFFSET);
  }
}
