import assert from 'node:assert/strict';
import test from 'node:test';
import { validateObject } from './k8s-validate.js';

const job = (spec: object) => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'j', labels: { 'any.label/key': 'v' } },
  spec: {
    completionMode: 'Indexed',
    template: {
      spec: {
        restartPolicy: 'Never',
        containers: [{ name: 'c', image: 'i', resources: { limits: { 'nvidia.com/gpu': 1 } } }],
      },
    },
    ...spec,
  },
});

test('the manifest checker passes a valid Job, map keys included', async () => {
  assert.deepEqual(await validateObject(job({ parallelism: 2, completions: 2 })), []);
});

test('the manifest checker reports a misspelt field, which the schema validators alone accept', async () => {
  assert.deepEqual(await validateObject(job({ parallelizm: 2 })), ['/spec/parallelizm: unknown field']);
  const nested = job({});
  (nested.spec.template.spec.containers[0] as Record<string, unknown>).imagePullPolicyy = 'Always';
  assert.deepEqual(await validateObject(nested), ['/spec/template/spec/containers/0/imagePullPolicyy: unknown field']);
});

test('the manifest checker reports a wrong type and a bad enum value', async () => {
  const problems = await validateObject(job({ parallelism: '2', completionMode: 'Sometimes' }));
  assert.ok(problems.some((p) => p.startsWith('/spec/parallelism: type')), problems.join('\n'));
  assert.ok(problems.some((p) => p.startsWith('/spec/completionMode: enum')), problems.join('\n'));
});
