/**
 * A config's values as read, before validation: merging YAML over defaults and flags over YAML,
 * copying them, and quoting a value for a one-line message as the user wrote it (the text of its
 * numbers travels beside them: written-numbers.ts).
 */
import { copyWritten, quoteWritten, setWritten, writtenAt } from './written-numbers.js';

export type Plain = Record<string, unknown>;
export const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Dotted paths of the leaves (non-objects; arrays are leaves) of a nested object. */
export function leafPaths(v: unknown, prefix = ''): string[] {
  if (!isPlain(v)) return prefix ? [prefix] : [];
  return Object.entries(v).flatMap(([k, x]) => leafPaths(x, prefix ? `${prefix}.${k}` : k));
}

/**
 * Deep merge: objects merge key by key, anything else (arrays included) replaces. A section left
 * empty (YAML `train:` with its keys commented out reads as null) keeps the defaults, as if absent.
 */
export function mergeConfig(base: unknown, over: unknown): unknown {
  if (isPlain(base) && over === null) return base;
  if (!isPlain(base) || !isPlain(over)) return over === undefined ? base : over;
  const out: Plain = { ...base };
  copyWritten(base, out);
  for (const [k, v] of Object.entries(over)) {
    // Own keys only, defined rather than assigned: a key "__proto__" (YAML or a flag) had replaced the
    // object's prototype and slipped past validation, and `k in base` took inherited names for keys.
    const value = Object.hasOwn(base, k) ? mergeConfig(base[k], v) : v;
    Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true });
    setWritten(out, k, writtenAt(over, k));
  }
  return out;
}

/**
 * A deep copy of a config as read (sections, lists and scalars), with the text of its numbers as
 * written (structuredClone drops it, and a flag's 1e-400 was quoted as 0).
 */
export function copyConfig<T>(v: T): T {
  if (!isPlain(v) && !Array.isArray(v)) return v;
  const out: Plain | unknown[] = Array.isArray(v) ? [] : {};
  for (const [k, x] of Object.entries(v)) Object.defineProperty(out, k, { value: copyConfig(x), enumerable: true, writable: true, configurable: true });
  copyWritten(v, out);
  return out as T;
}

/** The value at a key path of a nested object (sections and lists), given as keys or dotted (`train.lr`), or undefined. */
export function valueAt(root: unknown, path: readonly PropertyKey[] | string): unknown {
  let v = root;
  for (const k of typeof path === 'string' ? path.split('.') : path) v = isPlain(v) || Array.isArray(v) ? (v as Plain)[k as string] : undefined;
  return v;
}

/**
 * A value for a one-line message: its JSON (NaN and Infinity as such; a number inside it as the user
 * wrote it, where it does not keep the text), cut at 60 characters; `nothing` for none.
 */
export function quote(v: unknown): string {
  if (v === undefined) return 'nothing';
  // JSON has no NaN or Infinity (YAML's .nan and .inf): it would print them as null, in a list too.
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  const s = JSON.stringify(v, function (this: unknown, k: string, x: unknown) {
    const text = writtenAt(this, k) ?? (typeof x === 'number' && !Number.isFinite(x) ? String(x) : undefined);
    return text === undefined ? x : `\u0001${text}\u0001`;
  }).replace(/"\\u0001(.*?)\\u0001"/g, '$1');
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** quote() of `holder[key]`: a number as the user wrote it, with what it reads as where that is not plain. */
export function quoteIn(holder: unknown, key: PropertyKey): string {
  const v = isPlain(holder) || Array.isArray(holder) ? (holder as Plain)[key as string] : undefined;
  const text = writtenAt(holder, key);
  return text !== undefined && typeof v === 'number' ? quoteWritten(text, v) : quote(v);
}
