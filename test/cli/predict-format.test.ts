import assert from 'node:assert/strict';
import test from 'node:test';
import { formatPrediction } from '../../src/cli/predict.js';

const ranked = [
  { label: 1, className: 'automobile', probability: 0.75 },
  { label: 0, className: 'airplane', probability: 0.25 },
];

test('predict\'s text names a file as typed, and quotes a name with a newline or another control character (it split the line)', () => {
  assert.equal(formatPrediction('car.png', ranked, 2), 'car.png: Label: 1 – Class: automobile\n   1 automobile  75.0 %\n   0 airplane    25.0 %\n');
  assert.equal(formatPrediction('two\nlines.png', ranked, 1), '"two\\nlines.png": Label: 1 – Class: automobile\n   1 automobile  75.0 %\n');
  assert.equal(formatPrediction('bell\u0007.png', [], 1), '"bell\\u0007.png": no classes\n');
  assert.equal(formatPrediction('été 2024.png', [], 1), 'été 2024.png: no classes\n');
});
