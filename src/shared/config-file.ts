/**
 * The config as a user writes it: the YAML file (read, checked to be text, a mapping of sections,
 * free of alias loops) and the dotted flags (`--train.epochs 2`, values read as YAML but for the
 * text keys), merged over the defaults (config-values.ts) and validated by config-validate.ts.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import { fsFaultText } from './atomic-file.js';
import { CONFIG_SECTIONS, DEFAULT_CONFIG, type Config } from './config.js';
import { isPlain, mergeConfig, quoteIn, type Plain } from './config-values.js';
import { slashComment, validateConfig } from './config-validate.js';
import { TrainerError } from './errors.js';
import { keepsText, recordWritten, setWritten, writtenAt, WrittenNumber } from './written-numbers.js';

/** yaml, required when first read (CommonJS, one instance; see config.ts's zod). */
const requireHere = createRequire(import.meta.url);

/**
 * YAML text read as yaml's parse() reads it (its warnings, its first error thrown), in a holder,
 * `{ value }`, so that a bare number's text has an object to be kept beside (written-numbers.ts):
 * the text of each number a 64-bit float does not keep, for E_CONFIG's messages.
 */
function parseYaml(text: string, options: Yaml.DocumentOptions & Yaml.ParseOptions & Yaml.SchemaOptions & Yaml.ToJSOptions = {}): { value: unknown } {
  const yaml = requireHere('yaml') as typeof Yaml;
  const doc = yaml.parseDocument(text, options);
  const logLevel = doc.options.logLevel;
  if (logLevel === 'warn' || logLevel === 'debug') for (const warning of doc.warnings) process.emitWarning(warning);
  if (doc.errors[0] !== undefined) throw doc.errors[0];
  yaml.visit(doc, {
    Scalar(_key, node, path) {
      // Not in a mapping's key: that is made a string of the number (an unknown key, named as before).
      const inKey = path.some((p, i) => yaml.isPair(p) && (path[i + 1] ?? node) === p.key);
      if (typeof node.value === 'number' && node.source !== undefined && !inKey && !keepsText(node.source, node.value)) {
        node.value = new WrittenNumber(node.value, node.source);
      }
    },
  });
  const holder = { value: doc.toJS(options) as unknown };
  recordWritten(holder);
  return holder;
}

/** Keys whose value is text (names, paths, addresses, secrets): a dotted flag gives them as typed. */
const NULLABLE_TEXT_KEYS = new Set(['cluster.token', 'cluster.tls.cert', 'cluster.tls.key']);
const TEXT_KEYS = new Set([...NULLABLE_TEXT_KEYS, 'run.name', 'run.dir', 'data.path', 'data.url', 'data.md5', 'cluster.host']);

export async function readConfigFile(file: string): Promise<unknown> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new TrainerError('E_CONFIG', `cannot read config file ${file}: ${fsFaultText(err)}`);
  }
  // Read as UTF-8, such a file was "must hold a mapping of sections" (Windows PowerShell's `>` writes UTF-16).
  if (bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))) {
    throw new TrainerError('E_CONFIG', `config file ${file} is UTF-16 text: save it as UTF-8`);
  }
  if (bytes.includes(0)) throw new TrainerError('E_CONFIG', `config file ${file} is not a text file (it holds NUL bytes): a YAML file is UTF-8 text`);
  const text = bytes.toString('utf8');
  let doc: unknown;
  try {
    doc = parseYaml(text).value;
  } catch (err) {
    const first = ((err as Error).message.split('\n')[0] ?? '').replace(/:$/, ''); // its excerpt of the file follows the colon
    const line = (err as { linePos?: { line: number }[] }).linePos?.[0]?.line;
    const at = line === undefined ? undefined : text.split(/\r?\n/)[line - 1];
    throw new TrainerError('E_CONFIG', `config file ${file} is not valid YAML: ${first}${slashComment(at) || spaceAfterColon(at)}`);
  }
  if (doc === null || doc === undefined) return {};
  if (!isPlain(doc)) throw new TrainerError('E_CONFIG', `config file ${file} must hold a mapping of sections${spaceAfterColon(doc)}`);
  const loop = selfReference(doc);
  if (loop !== null) throw new TrainerError('E_CONFIG', `config file ${file}: ${loop} holds an alias of itself (*name inside its own &name)`);
  checkSections(doc, DEFAULT_CONFIG, []);
  return doc;
}

/**
 * The key path (`train.epochs`, `0` for a list's first item, '' for the value itself) of the first
 * value that holds one of the values around it, or null. A YAML alias inside its own anchor
 * (`train: &a {epochs: *a}`) parses to such a loop, which every later step (messages, merging,
 * storing) would walk for ever or fail on with E_INTERNAL.
 */
function selfReference(v: unknown, around: readonly object[] = [], path: readonly string[] = []): string | null {
  if (typeof v !== 'object' || v === null) return null;
  if (around.includes(v)) return path.join('.');
  for (const [k, x] of Object.entries(v)) {
    const found = selfReference(x, [...around, v], [...path, k]);
    if (found !== null) return found;
  }
  return null;
}

/**
 * E_CONFIG for a section the file gives a value (`train: 5`), before the flags merge: a dotted flag
 * of that section replaced the value, and the error named another key (`train.batchSize ... got
 * nothing`), or none at all when the flags gave the whole section. (null: the section left empty.)
 */
function checkSections(doc: Plain, defaults: unknown, path: string[]): void {
  if (!isPlain(defaults)) return;
  for (const [k, v] of Object.entries(doc)) {
    const d = Object.hasOwn(defaults, k) ? defaults[k] : undefined;
    if (!isPlain(d)) continue;
    if (isPlain(v)) checkSections(v, d, [...path, k]);
    else if (v !== null) throw new TrainerError('E_CONFIG', `${[...path, k].join('.')} must be a section of keys, got ${quoteIn(doc, k)}${spaceAfterColon(v)}`);
  }
}

/**
 * A hint where a line reads `key:value`: YAML takes that for one word, not a key and its value, and
 * `epochs:1` under `train:` was "train must be a section of keys, got "epochs:1"" (`backend:cpu`
 * alone: "must hold a mapping of sections"; beside other keys, "Implicit map keys need to be
 * followed by map values"), none of which says what is wrong.
 */
function spaceAfterColon(text: unknown): string {
  const m = typeof text === 'string' ? /^\s*([A-Za-z][\w.]*):([^\s/\\].*)$/.exec(text) : null;
  return m === null ? '' : ` (YAML needs a space after a key's colon: ${m[1]}: ${m[2]})`;
}

/**
 * Resolves the config: defaults, then the YAML file (if any), then overrides
 * (dotted CLI flags already turned into a nested object), then validation.
 */
export async function resolveConfig(file: string | undefined, overrides: unknown = {}): Promise<Config> {
  const fromFile = file === undefined ? {} : await readConfigFile(file);
  return validateConfig(mergeConfig(mergeConfig(structuredClone(DEFAULT_CONFIG), fromFile), overrides));
}

/**
 * Splits dotted config flags (`--train.epochs 2`, `--data.classes=[airplane,ship]`)
 * out of argv. Values are read as YAML scalars or flow collections, so numbers,
 * booleans, null and lists mean the same as in a config file.
 */
export function extractConfigFlags(argv: readonly string[]): { rest: string[]; overrides: Plain } {
  const rest: string[] = [];
  const overrides: Plain = {};
  const seen = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    // After `--`, every word is an argument as typed (a file named --train.x.png).
    if (arg === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    const m = /^--([A-Za-z]\w*)\.([\w.]+)(?:=(.*))?$/s.exec(arg);
    if (!m || !(CONFIG_SECTIONS as string[]).includes(m[1] as string)) {
      rest.push(arg);
      continue;
    }
    const flag = `--${m[1]}.${m[2]}`;
    if (seen.has(flag)) throw new TrainerError('E_CONFIG', `${flag} given more than once`);
    seen.add(flag);
    let text = m[3];
    if (text === undefined) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) {
        throw new TrainerError('E_CONFIG', `--${m[1]}.${m[2]} needs a value`);
      }
      text = next;
      i++;
    }
    // An empty value would read as YAML null ("run.name must be a string, got null"); null is typed as null.
    if (text.trim() === '') throw new TrainerError('E_CONFIG', `--${m[1]}.${m[2]} needs a value`);
    const keys = [m[1] as string, ...(m[2] as string).split('.')];
    let read: { value: unknown } = { value: text };
    if (TEXT_KEYS.has(keys.join('.'))) {
      // Text as typed: read as YAML, "exp #3" lost its "#3" (a comment), "~" became null, 007 the number 7.
      read = { value: text === 'null' && NULLABLE_TEXT_KEYS.has(keys.join('.')) ? null : text };
    } else {
      try {
        read = parseYaml(text, { logLevel: 'error' }); // no YAMLWarning on stderr for "%x"
      } catch {
        // read as the text itself
      }
      const loop = selfReference(read.value);
      if (loop !== null) throw new TrainerError('E_CONFIG', `--${[...keys, loop].filter(Boolean).join('.')} holds an alias of itself (*name inside its own &name)`);
    }
    // No config has these keys, and `--train.__proto__.epochs 3` walked into Object.prototype.
    const odd = keys.findIndex((k) => k === '__proto__' || k === 'constructor' || k === 'prototype');
    if (odd >= 0) throw new TrainerError('E_CONFIG', `unknown config key ${keys.slice(0, odd + 1).join('.')}`);
    let node = overrides;
    for (const k of keys.slice(0, -1)) {
      if (!isPlain(node[k])) node[k] = {};
      node = node[k] as Plain;
    }
    node[keys[keys.length - 1] as string] = read.value;
    setWritten(node, keys[keys.length - 1] as string, writtenAt(read, 'value'));
  }
  return { rest, overrides };
}
