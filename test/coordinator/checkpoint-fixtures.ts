// A checkpoint's contents for the checkpoint tests (not a test file itself).
import type { CheckpointState } from '../../src/coordinator/checkpoint.js';
import { smallConfig } from '../helpers.js';

/** A checkpoint mid-epoch with `size` parameters, with or without a momentum buffer. */
export async function sampleCheckpoint(dir: string, momentum: boolean, size = 1000): Promise<CheckpointState> {
  return {
    model: 'net',
    seed: 3,
    params: Float32Array.from({ length: size }, (_, i) => Math.sin(i)),
    momentum: momentum ? Float32Array.from({ length: size }, (_, i) => Math.cos(i)) : null,
    config: smallConfig(dir),
    epoch: 2,
    stepInEpoch: 5,
    globalStep: 25,
    epochLossSum: 123.456789,
    epochCorrect: 77,
    epochExamples: 320,
    epochTrainSec: 1.5,
    elapsedSec: 10.25,
  };
}
