/**
 * Numbers whose text a JavaScript number does not keep, as the user wrote them, for E_CONFIG's
 * messages. `run.seed: 123456789012345678901` reads as 123456789012345680000 and `train.lr: 1e-400`
 * as 0, and the message quoted those ("got 0"), not what the file or flag said. The numbers
 * themselves are left as read (a valid config resolves as before); the text rides beside them, in
 * a table keyed by the object that holds each one.
 */

/** holder (a section or list of the config as read) → key → the number's text as written. */
const written = new WeakMap<object, Map<string, string>>();

/** A number read from YAML, in place of the number until recordWritten takes it out. */
export class WrittenNumber {
  constructor(
    readonly value: number,
    readonly text: string,
  ) {}
}

/** Sign, digits and exponent of a decimal numeral without its redundant zeros (`0.50` and `5e-1` alike); null for other text. */
function decimal(text: string): string | null {
  const m = /^([-+]?)(\d*)(?:\.(\d*))?(?:[eE]([-+]?\d+))?$/.exec(text);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return null;
  const fraction = m[3] ?? '';
  let digits = `${m[2]}${fraction}`.replace(/^0+/, '');
  if (digits === '') return '0';
  let exponent = BigInt(m[4] ?? 0) - BigInt(fraction.length);
  const trailing = /0*$/.exec(digits)?.[0].length ?? 0;
  digits = digits.slice(0, digits.length - trailing);
  exponent += BigInt(trailing);
  return `${m[1] === '-' ? '-' : ''}${digits}e${exponent}`;
}

/**
 * Whether `value` is the number `text` says: false for an integer past 2^53 that lost digits, a
 * float that underflowed to 0 or overflowed to Infinity, or digits past a double's ~17. Text that
 * is no numeral (`.inf`, `.nan`, a tag's odd spelling) says nothing more than the value.
 */
export function keepsText(text: string, value: number): boolean {
  if (/^0[xo][0-9a-f]+$/i.test(text)) return Number.isFinite(value) && BigInt(text) === BigInt(value);
  const typed = decimal(text);
  return typed === null || typed === decimal(String(value));
}

/** The text written for `holder[key]`, or undefined where its value says it. */
export function writtenAt(holder: unknown, key: PropertyKey): string | undefined {
  return typeof holder === 'object' && holder !== null ? written.get(holder)?.get(String(key)) : undefined;
}

/** Records (or, with undefined, forgets) the text written for `holder[key]`. */
export function setWritten(holder: object, key: string, text: string | undefined): void {
  const texts = written.get(holder) ?? new Map<string, string>();
  if (text === undefined) texts.delete(key);
  else texts.set(key, text);
  if (texts.size > 0) written.set(holder, texts);
  else written.delete(holder);
}

/** Copies the texts of `from`'s keys to `to` (a merge's copy of a section). */
export function copyWritten(from: object, to: object): void {
  const texts = written.get(from);
  if (texts !== undefined) written.set(to, new Map(texts));
}

/**
 * Replaces each WrittenNumber under `holder` by its number, recording its text. Each object once:
 * an alias shares one, and one inside its own anchor is a loop (refused later, by the key path).
 */
export function recordWritten(holder: object, seen = new Set<object>()): void {
  if (seen.has(holder)) return;
  seen.add(holder);
  for (const [k, v] of Object.entries(holder)) {
    if (v instanceof WrittenNumber) {
      (holder as Record<string, unknown>)[k] = v.value;
      setWritten(holder, k, v.text);
    } else if (typeof v === 'object' && v !== null) {
      recordWritten(v, seen);
    }
  }
}

/**
 * The text as written, and what it reads as where that is not plain from it: an integer past 2^53
 * needs no note (every integer key states the bound), 0 and Infinity are not what was typed at all.
 */
export function quoteWritten(text: string, value: number): string {
  if (value === 0) return `${text} (0 as a number: too small for a 64-bit float)`;
  if (!Number.isFinite(value)) return `${text} (${value} as a number: too large for a 64-bit float)`;
  return /^[-+]?\d+$|^0[xo]/i.test(text) ? text : `${text} (${value} as a number, the nearest 64-bit float)`;
}
