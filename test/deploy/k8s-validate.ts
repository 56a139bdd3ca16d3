/**
 * Checks a Kubernetes object against its schema offline, with the validators
 * that the kubernetes-models package compiles from the Kubernetes OpenAPI
 * document, and reports fields the schema does not know.
 *
 * Those validators, like the API's schema, accept unknown fields (a misspelt
 * `parallelizm` passes; a real API server with strict field validation then
 * rejects it, or an older one drops it silently). Each validator reads every
 * property its schema defines, so the object is handed over behind proxies
 * that record which keys were read: a key never read is a field the schema
 * does not have. Maps (labels, resources.limits) are read key by key, so their
 * keys count as read.
 */
import type { Obj } from './kustomize-subset.js';

type Validate = ((data: unknown) => boolean) & { errors?: { instancePath: string; message?: string; keyword: string; params: unknown }[] | null };

const SCHEMAS: Record<string, string> = {
  'v1/ConfigMap': 'IoK8sApiCoreV1ConfigMap',
  'v1/Secret': 'IoK8sApiCoreV1Secret',
  'v1/Service': 'IoK8sApiCoreV1Service',
  'v1/PersistentVolumeClaim': 'IoK8sApiCoreV1PersistentVolumeClaim',
  'v1/Pod': 'IoK8sApiCoreV1Pod',
  'batch/v1/Job': 'IoK8sApiBatchV1Job',
};

/** Problems of `o`, as "path: what" lines; empty when it is valid. */
export async function validateObject(o: Obj): Promise<string[]> {
  const key = `${String(o.apiVersion)}/${String(o.kind)}`;
  const schema = SCHEMAS[key];
  if (!schema) return [`${key}: no schema wired up in test/deploy/k8s-validate.ts`];
  const mod = (await import(`kubernetes-models/_schemas/${schema}`)) as { validate: Validate };
  const records: { path: string; keys: string[]; read: Set<string> }[] = [];
  const ok = mod.validate(traced(o, '', records));
  const problems = ok ? [] : (mod.validate.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.keyword} ${JSON.stringify(e.params)}`);
  for (const r of records) {
    for (const k of r.keys) if (!r.read.has(k)) problems.push(`${r.path}/${k}: unknown field`);
  }
  return problems;
}

function traced(value: unknown, path: string, records: { path: string; keys: string[]; read: Set<string> }[]): unknown {
  if (Array.isArray(value)) return value.map((v, i) => traced(v, `${path}/${i}`, records));
  if (value === null || typeof value !== 'object') return value;
  const inner: Obj = {};
  for (const [k, v] of Object.entries(value)) inner[k] = traced(v, `${path}/${k}`, records);
  const rec = { path, keys: Object.keys(inner), read: new Set<string>() };
  records.push(rec);
  return new Proxy(inner, {
    get(t, k, recv) {
      if (typeof k === 'string') rec.read.add(k);
      return Reflect.get(t, k, recv);
    },
  });
}
