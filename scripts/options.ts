/**
 * The bench scripts' command lines, read as the trainer's own: `--help` lists every option with
 * its default, a bad option or value is one line `error E_USAGE: ...` with exit status 2 before
 * anything runs (`--rounds abc` printed empty tables "over NaN rounds" and exited 0), and any
 * other failure is one line `error E_CODE: message` with the TrainerError's exit status rather
 * than a stack trace (TRAINER_DEBUG=1 adds the stack, as for the CLI).
 */
import { parseArgs } from 'node:util';
import { TrainerError, fail } from '../src/shared/errors.js';

export type OptionSpec =
  | {
      type: 'string';
      default?: string;
      /** What the value is, for --help: N, LIST, FILE. */
      arg?: string;
      /** One line for --help; absent for an option the script passes to its own children. */
      help?: string;
    }
  | { type: 'boolean'; help?: string };

type Values<O extends Record<string, OptionSpec>> = {
  [K in keyof O]: O[K] extends { type: 'boolean' } ? boolean : O[K] extends { default: string } ? string : string | undefined;
};

const usage = (message: string) => new TrainerError('E_USAGE', `${message} (see --help)`);

/**
 * The options of `argv`; with --help, prints `about` and one line per documented option and
 * exits 0. An unknown option, a missing value or a stray argument is E_USAGE.
 */
export function parseOptions<O extends Record<string, OptionSpec>>(about: string, options: O, argv = process.argv.slice(2)): Values<O> {
  const config: Record<string, { type: 'string' | 'boolean'; default?: string | boolean }> = { help: { type: 'boolean', default: false } };
  for (const [name, o] of Object.entries(options)) {
    config[name] = o.type === 'boolean' ? { type: 'boolean', default: false } : { type: 'string', ...(o.default === undefined ? {} : { default: o.default }) };
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: argv, options: config, strict: true, allowPositionals: false }).values as Record<string, string | boolean | undefined>;
  } catch (err) {
    // Node's messages: "Unknown option '--x'", "Option '--rounds <value>' argument missing",
    // "Option '--memory' does not take an argument", "Unexpected argument 'x'. ...".
    const m = (err as Error).message;
    const quoted = /'([^']*)'/.exec(m)?.[1] ?? '';
    const flag = quoted.split(' ')[0] ?? '';
    const code = (err as { code?: string }).code;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw usage(`unknown option ${flag}`);
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') throw usage(`unexpected argument ${JSON.stringify(quoted)}: every value follows its option`);
    // A string option followed by nothing or by another option ("argument is ambiguous").
    if (/argument missing|ambiguous/.test(m)) throw usage(`${flag} needs a value`);
    if (/does not take an argument/.test(m)) throw usage(`${flag} takes no value`);
    throw usage(m.split('\n')[0]?.replace(/\.$/, '') ?? 'bad command line');
  }
  if (values['help']) {
    process.stdout.write(`${about}\n\nOptions:\n${helpLines(options).join('\n')}\n`);
    process.exit(0);
  }
  return values as Values<O>;
}

function helpLines(options: Record<string, OptionSpec>): string[] {
  const rows: [string, string][] = [];
  for (const [name, o] of Object.entries(options)) {
    if (o.help === undefined) continue;
    if (o.type === 'boolean') rows.push([`--${name}`, o.help]);
    else rows.push([`--${name} ${o.arg ?? 'N'}`, o.default === undefined ? o.help : `${o.help} (default ${o.default})`]);
  }
  rows.push(['--help', 'this list']);
  const width = Math.max(...rows.map(([flag]) => flag.length)) + 2;
  return rows.map(([flag, text]) => `  ${flag.padEnd(width)}${text}`);
}

/** `--name`'s value as a whole number of at least `min` (1 unless said). */
export function intOption(name: string, text: string, min = 1): number {
  const n = /^[0-9]+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min) {
    throw usage(`--${name} must be ${min === 1 ? 'a positive integer' : min === 0 ? 'a non-negative integer' : `an integer of at least ${min}`}, got ${JSON.stringify(text)}`);
  }
  return n;
}

/** `--name`'s value as a decimal number in [min, max]; above `min` only when `exclusiveMin`. */
export function numberOption(name: string, text: string, o: { min?: number; max?: number; exclusiveMin?: boolean } = {}): number {
  const min = o.min ?? 0;
  const max = o.max ?? Infinity;
  const n = /^([0-9]+\.?[0-9]*|\.[0-9]+)(e[+-]?[0-9]+)?$/i.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(n) || n < min || (o.exclusiveMin && n === min) || n > max) {
    const range = o.exclusiveMin && min === 0 && max === Infinity ? 'a positive number' : max === Infinity ? `a number of at least ${min}` : `a number in [${min}, ${max}]`;
    throw usage(`--${name} must be ${o.exclusiveMin && min !== 0 ? `a number above ${min}` : range}, got ${JSON.stringify(text)}`);
  }
  return n;
}

/** `--name`'s comma-separated list, each item read by `item` (whose message then names "--name item"). */
export function listOption<T>(name: string, text: string, item: (name: string, text: string) => T): T[] {
  const items = text.split(',');
  if (text === '' || items.some((s) => s === '')) throw usage(`--${name} must be a comma-separated list, got ${JSON.stringify(text)}`);
  return items.map((s) => item(`${name} item`, s));
}

/** `--name`'s value, one of `allowed`. */
export function choiceOption<T extends string>(name: string, text: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(text)) throw usage(`--${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(text)}`);
  return text as T;
}

/** Runs a script's main: a failure ends the process as the trainer CLI's does (shared/errors.ts fail). */
export async function runMain(main: () => Promise<void>): Promise<void> {
  await main().catch(fail);
}
