import assert from 'node:assert/strict';
import test from 'node:test';
import { isTrainerError } from '../../../src/shared/errors.js';
import { decodeMessage } from '../../../src/transports/ws/decode.js';
import { encodeMessage } from '../../../src/transports/ws/encode.js';
import { MODEL_PARAMETERS } from '../../../src/shared/config.js';
import { GradientTemplate, type GradientFields } from '../../../scripts/scale/gradient-template.js';

/** Results whose fields take every msgpack width: small and large ids, fractional times, a clock of today. */
function results(): GradientFields[] {
  const now = Date.now() + 0.375;
  return [0, 1, 200, 300, 70_000, 2 ** 32 - 1].map((id, i) => ({
    taskId: id,
    step: id % 1000,
    version: i,
    lossSum: 16 * 2.302585,
    correct: 1,
    count: 16,
    computeMs: i * 12.5,
    startedAt: now + i,
  }));
}

test("bench:scale's simulated gradient frames decode with the coordinator's decoder as the results they were made from", () => {
  for (const size of [1, 3, MODEL_PARAMETERS.net]) {
    const template = new GradientTemplate(size);
    assert.equal(template.gradient.length, size);
    for (const fields of results()) {
      const frame = Buffer.concat([template.prefix, template.tail(fields)]);
      const message = { type: 'gradient' as const, ...fields, gradient: template.gradient };
      assert.deepEqual(decodeMessage(frame, 'worker'), message);
      // The bytes a real worker sends for that result (copies: msgpackr hangs a property on its buffers).
      assert.deepEqual(new Uint8Array(frame), new Uint8Array(encodeMessage(message)));
    }
  }
});

test('a simulated result without one of the protocol fields is refused, not sent', () => {
  const template = new GradientTemplate(MODEL_PARAMETERS.net);
  const { startedAt: _, ...withoutStartedAt } = results()[1] as GradientFields;
  assert.throws(() => template.tail(withoutStartedAt as GradientFields), (err) => isTrainerError(err, 'E_INTERNAL'));
});
