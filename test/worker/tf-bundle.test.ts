import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test from 'node:test';

const TF_JS = fileURLToPath(new URL('../../src/worker/tf.js', import.meta.url));

/** Runs `body` in a fresh Node (`tf` is tf.js, `req` a require from it) and returns what it prints as JSON. */
function inFreshNode(body: string): unknown {
  const script = `const tf = await import(${JSON.stringify(TF_JS)}); const req = tf.requireTfjs; ${body}`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }));
}

test('TensorFlow.js loads without the layers, converter, data and webgl code it does not compute with (about 0.1 s of CPU at each process and thread start)', () => {
  const loaded = inFreshNode(`
    const names = ['@tensorflow/tfjs-layers', '@tensorflow/tfjs-converter', '@tensorflow/tfjs-data', '@tensorflow/tfjs-backend-webgl'];
    const real = (n) => req.cache[req.resolve(n)] !== undefined;
    const before = names.filter(real);
    tf.tfjsBundle();
    console.log(JSON.stringify({ before, after: names.filter(real) }));`);
  assert.deepEqual(loaded, { before: [], after: ['@tensorflow/tfjs-layers', '@tensorflow/tfjs-converter', '@tensorflow/tfjs-data', '@tensorflow/tfjs-backend-webgl'] });
});

test('the exported model needs tfjs-layers alone: tfLayers() loads it and none of the converter, tf.data and webgl (~70 ms of CPU more at the end of every run)', () => {
  const loaded = inFreshNode(`
    const names = ['@tensorflow/tfjs-layers', '@tensorflow/tfjs-converter', '@tensorflow/tfjs-data', '@tensorflow/tfjs-backend-webgl'];
    const l = tf.tfLayers();
    console.log(JSON.stringify({ loaded: names.filter((n) => req.cache[req.resolve(n)] !== undefined), same: l.sequential === tf.tfjsBundle().sequential }));`);
  assert.deepEqual(loaded, { loaded: ['@tensorflow/tfjs-layers'], same: true });
});

test('completed, the bundle is require("@tensorflow/tfjs"): every name, from the package the bundle takes it from, its data and versions (tfjs-node takes tfjs-layers classes from it)', () => {
  const r = inFreshNode(`
    const b = tf.tfjsBundle();
    // The bundle's own order: a name is the first package's that has it.
    const order = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers', '@tensorflow/tfjs-converter', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-webgl'].map((n) => req(n));
    const wrong = Object.keys(b).filter((k) => !['version', 'data', 'default'].includes(k) && b[k] !== order.find((p) => Object.prototype.hasOwnProperty.call(p, k))?.[k]);
    console.log(JSON.stringify({ keys: Object.keys(b).sort(), wrong, version: b.version, data: Object.keys(b.data).sort(), CustomCallback: typeof b.CustomCallback, loadGraphModel: typeof b.loadGraphModel }));`);
  const full = JSON.parse(
    execFileSync(process.execPath, ['-e', `const b = require('@tensorflow/tfjs'); console.log(JSON.stringify({ keys: Object.keys(b).sort(), wrong: [], version: b.version, data: Object.keys(b.data).sort(), CustomCallback: typeof b.CustomCallback, loadGraphModel: typeof b.loadGraphModel }))`], {
      encoding: 'utf8',
      cwd: fileURLToPath(new URL('../../..', import.meta.url)),
    }),
  );
  assert.equal(full.CustomCallback, 'function');
  assert.ok(full.keys.length > 400, String(full.keys.length));
  assert.deepEqual(r, full);
});
