/**
 * The part of kustomize that deploy/k8s/kustomization.yaml uses, so its output
 * can be checked without kubectl: `resources` (files), `configMapGenerator`
 * and `secretGenerator` (literals, env files, no name hash), `images`, and
 * `replacements` with plain dotted field paths. Anything else in the
 * kustomization is an error here, so the file cannot drift past what is
 * checked. Where kubectl is installed the test compares this with
 * `kubectl kustomize`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

export type Obj = Record<string, unknown>;

const SUPPORTED = new Set(['apiVersion', 'kind', 'images', 'configMapGenerator', 'secretGenerator', 'resources', 'replacements']);

interface Generator {
  name: string;
  options?: { disableNameSuffixHash?: boolean };
  literals?: string[];
  envs?: string[];
}

interface Image {
  name: string;
  newName?: string;
  newTag?: string;
}

interface Replacement {
  source: { kind: string; name: string; fieldPath: string };
  targets: { select: { kind: string; name: string }; fieldPaths: string[] }[];
}

export async function kustomizeBuild(dir: string): Promise<Obj[]> {
  const k = parse(await readFile(join(dir, 'kustomization.yaml'), 'utf8')) as Obj;
  const unsupported = Object.keys(k).filter((key) => !SUPPORTED.has(key));
  if (unsupported.length > 0) throw new Error(`kustomization.yaml uses ${unsupported.join(', ')}, which the test's renderer does not implement`);
  if (k.kind !== 'Kustomization') throw new Error(`kind ${String(k.kind)}`);

  const out: Obj[] = [];
  for (const g of (k.configMapGenerator ?? []) as Generator[]) {
    out.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: generatedName(g) }, data: await generatorData(dir, g) });
  }
  for (const g of (k.secretGenerator ?? []) as Generator[]) {
    const data = Object.fromEntries(Object.entries(await generatorData(dir, g)).map(([key, v]) => [key, Buffer.from(v).toString('base64')]));
    out.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: generatedName(g) }, type: 'Opaque', data });
  }
  for (const file of (k.resources ?? []) as string[]) {
    for (const doc of parseAllDocuments(await readFile(join(dir, file), 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]?.message}`);
      const o = doc.toJS() as Obj | null;
      if (o) out.push(o);
    }
  }
  for (const img of (k.images ?? []) as Image[]) setImages(out, img);
  for (const r of (k.replacements ?? []) as Replacement[]) replace(out, r);
  return out;
}

function generatedName(g: Generator): string {
  // With the hash suffix every reference would have to be renamed too; the kustomization turns it off.
  if (g.options?.disableNameSuffixHash !== true) throw new Error(`generator ${g.name}: the renderer needs disableNameSuffixHash: true`);
  return g.name;
}

async function generatorData(dir: string, g: Generator): Promise<Record<string, string>> {
  const data: Record<string, string> = {};
  const pairs = [...(g.literals ?? [])];
  for (const f of g.envs ?? []) {
    for (const line of (await readFile(join(dir, f), 'utf8')).split('\n')) {
      if (line.trim() && !line.trimStart().startsWith('#')) pairs.push(line.trim());
    }
  }
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new Error(`generator ${g.name}: ${JSON.stringify(p)} is not KEY=VALUE`);
    data[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return data;
}

/** The pod specs of a Pod, or of a Job's, Deployment's... template. */
export function podSpecs(o: Obj): Obj[] {
  if (o.kind === 'Pod') return [o.spec as Obj];
  const t = (o.spec as Obj | undefined)?.template as Obj | undefined;
  return t?.spec ? [t.spec as Obj] : [];
}

export function containers(o: Obj): Obj[] {
  return podSpecs(o).flatMap((s) => [...((s.initContainers as Obj[]) ?? []), ...((s.containers as Obj[]) ?? [])]);
}

function setImages(objs: Obj[], img: Image): void {
  for (const c of objs.flatMap(containers)) {
    const image = String(c.image);
    const m = /^([^@]+?)(?::([^:/@]+))?(@.+)?$/.exec(image);
    if (!m || m[1] !== img.name) continue;
    c.image = `${img.newName ?? img.name}${img.newTag ? `:${img.newTag}` : m[2] ? `:${m[2]}` : ''}`;
  }
}

function find(objs: Obj[], kind: string, name: string): Obj {
  const o = objs.find((x) => x.kind === kind && (x.metadata as Obj | undefined)?.name === name);
  if (!o) throw new Error(`no ${kind} ${name}`);
  return o;
}

function replace(objs: Obj[], r: Replacement): void {
  const value = getPath(find(objs, r.source.kind, r.source.name), r.source.fieldPath);
  for (const t of r.targets) {
    const target = find(objs, t.select.kind, t.select.name);
    for (const path of t.fieldPaths) {
      const old = getPath(target, path);
      // As kustomize does for scalars: the value is copied, the target keeps its type.
      setPath(target, path, typeof old === 'number' ? Number(value) : String(value));
    }
  }
}

function checkPath(path: string): string[] {
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(path)) throw new Error(`field path ${path}: only plain dotted paths are implemented`);
  return path.split('.');
}

export function getPath(o: Obj, path: string): unknown {
  let cur: unknown = o;
  for (const p of checkPath(path)) cur = (cur as Obj | undefined)?.[p];
  if (cur === undefined) throw new Error(`nothing at ${path}`);
  return cur;
}

function setPath(o: Obj, path: string, value: unknown): void {
  const parts = checkPath(path);
  const last = parts.pop() as string;
  let cur = o;
  for (const p of parts) cur = cur[p] as Obj;
  cur[last] = value;
}
