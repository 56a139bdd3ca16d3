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

interface SchemaError {
  instancePath: string;
  keyword: string;
  params: unknown;
}
type ModelClass = { prototype: { validate(this: unknown): void } };

const MODELS: Record<string, [string, string]> = {
  'v1/ConfigMap': ['kubernetes-models/v1/ConfigMap', 'ConfigMap'],
  'v1/Secret': ['kubernetes-models/v1/Secret', 'Secret'],
  'v1/Service': ['kubernetes-models/v1/Service', 'Service'],
  'v1/PersistentVolumeClaim': ['kubernetes-models/v1/PersistentVolumeClaim', 'PersistentVolumeClaim'],
  'v1/Pod': ['kubernetes-models/v1/Pod', 'Pod'],
  'batch/v1/Job': ['kubernetes-models/batch/v1/Job', 'Job'],
  'networking.k8s.io/v1/NetworkPolicy': ['kubernetes-models/networking.k8s.io/v1/NetworkPolicy', 'NetworkPolicy'],
};

/** Problems of `o`, as "path: what" lines; empty when it is valid. */
export async function validateObject(o: Obj): Promise<string[]> {
  const key = `${String(o.apiVersion)}/${String(o.kind)}`;
  const model = MODELS[key];
  if (!model) return [`${key}: no schema wired up in test/deploy/k8s-validate.ts`];
  const cls = ((await import(model[0])) as Record<string, ModelClass>)[model[1]];
  if (!cls) return [`${key}: ${model[0]} has no ${model[1]}`];
  const records: { path: string; keys: string[]; read: Set<string> }[] = [];
  const problems: string[] = [];
  try {
    // The model's validate() runs the compiled schema on `this`: here, the traced object
    // (constructing a model would copy the object, reading every key).
    cls.prototype.validate.call(traced(o, '', records));
  } catch (err) {
    const errors = (err as { errors?: SchemaError[] }).errors;
    if (!errors) throw err;
    for (const e of errors) problems.push(`${e.instancePath || '/'}: ${e.keyword} ${JSON.stringify(e.params)}`);
  }
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
