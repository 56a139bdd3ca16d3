/** The `trainer` command line (main.ts loads it once SIGUSR1 is taken care of). */
import { createRequire } from 'node:module';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { extractConfigFlags } from '../shared/config-file.js';
import { configKeys } from '../shared/config.js';
import { leafPaths } from '../shared/config-values.js';
import { TrainerError, fail } from '../shared/errors.js';
import { closest } from '../shared/suggest.js';
import { COMMANDS, ENV_HELP, type Command } from './commands.js';
import { checkEnvironment, checkWorkingFolder } from './env.js';
import { watchOutput } from './output.js';
import { endStartSignals } from './start-signals.js';

const VERSION = (createRequire(import.meta.url)('../../../package.json') as { version: string }).version;

interface DeclaredOption {
  name: string;
  alias?: string | string[];
  type?: string;
  array?: boolean;
  describe?: string;
}

/** The options a command's builder declares, read by running it on a recorder. */
function declaredOptions(options: Command['options']): DeclaredOption[] {
  const declared: DeclaredOption[] = [];
  const recorder: Record<string, unknown> = {};
  const chain = () => recorder;
  Object.assign(recorder, {
    option: (name: string, o: Omit<DeclaredOption, 'name'>) => {
      declared.push({ name, ...o });
      return recorder;
    },
    positional: chain,
    epilog: chain,
    example: chain,
    check: chain,
  });
  options(recorder as unknown as Argv);
  return declared;
}

/** The option names (and aliases) a command's builder declares. */
function optionNames(options: Command['options']): string[] {
  return ['help', 'h', 'version', ...declaredOptions(options).flatMap((o) => [o.name, ...[o.alias ?? []].flat()])];
}

/**
 * A one-value option given more than once (`--run a --run b`, `-c a.yaml -c b.yaml`): yargs makes
 * it an array, which commands met as E_INTERNAL ("The "path" argument must be of type string") or
 * read as "a.yaml,b.yaml", and a number option it sometimes adds up instead (`--threads 3
 * --threads 1` trained on 4 threads, `--gpu 2 --gpu 1` on GPU 3), so the command line as typed is
 * counted. Flags (booleans) and repeatable options may come twice.
 */
function givenTwice(command: string, parsed: Record<string, unknown>, args: readonly string[]): string | null {
  const typed = typedWords(args);
  const twice = declaredOptions((COMMANDS[command] as Command).options).find((o) => {
    if (o.type === 'boolean' || o.array === true) return false;
    const spellings = [o.name, camel(o.name), ...[o.alias ?? []].flat()].map((n) => (n.length === 1 ? `-${n}` : `--${n}`));
    const times = typed.filter((t) => spellings.some((s) => t === s || t.startsWith(`${s}=`))).length;
    return times > 1 || Array.isArray(parsed[o.name]);
  });
  return twice === undefined ? null : `--${twice.name} given more than once`;
}

/** An option's camel-case spelling, which yargs also takes (and reports): max-retries → maxRetries. */
const camel = (name: string) => name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());

/** yargs' own messages, made one line with a code, a suggestion and the help to read. */
function usageError(msg: string, command: string | undefined, args: readonly string[]): TrainerError {
  const help = command ? `trainer ${command} --help` : 'trainer --help';
  const unknown = /^Unknown arguments?: (.+)$/.exec(msg);
  if (unknown && command) {
    const known = optionNames((COMMANDS[command] as Command).options);
    // yargs lists a dashed option under its camel-case name too (--max-retries, --maxRetries): once.
    const listed = (unknown[1] as string).split(', ');
    const names = listed.filter((n) => !listed.some((m) => m !== n && m.includes('-') && camel(m) === n));
    const parts = names.map((name) => {
      // A word the command takes no place for (`trainer doctor extra`) is not an option. Not the
      // command's own word: `trainer train --train 5` was "unexpected argument "train"".
      if (args.slice(args[0] === command ? 1 : 0).includes(name)) return `unexpected argument ${JSON.stringify(name)}`;
      const flag = (n: string) => (n.length === 1 ? `-${n}` : `--${n}`);
      // A config key under a misspelt section (--trian.lr): yargs names the section alone.
      const dotted = dottedKeyTyped(name, args);
      if (dotted !== null) {
        const near = closest(dotted, configKeysOf(command));
        return `unknown option --${dotted}${near === null ? '' : `; did you mean --${near}?`}`;
      }
      const near = closest(name, known) ?? configKeyNamed(name, command);
      return near === null ? `unknown option ${flag(name)}` : `unknown option ${flag(name)}; did you mean ${flag(near)}?`;
    });
    return new TrainerError('E_USAGE', `${parts.join('; ')} (see ${help})`);
  }
  // yargs' "Missing required argument: connect" names no flag: said as typed, with what it is.
  const missing = /^Missing required arguments?: (.+)$/.exec(msg);
  if (missing && command) {
    const declared = declaredOptions((COMMANDS[command] as Command).options);
    const parts = (missing[1] as string).split(', ').map((name) => {
      const what = declared.find((o) => o.name === name)?.describe;
      return `missing --${name}${what ? `: ${what}` : ''}`;
    });
    return new TrainerError('E_USAGE', `${parts.join('; ')} (see ${help})`);
  }
  // "Not enough non-option arguments: got 0, need at least 1": the command's words say which; unless
  // a number option took the missing word as its value (`predict --top x.png`): that is the mistake.
  if (/^Not enough non-option arguments/.test(msg) && command) {
    const took = wordForNumber(command, args);
    if (took !== null) return new TrainerError('E_USAGE', `${took} (see ${help})`);
    const spec = (COMMANDS[command] as Command).spec;
    const names = [...spec.matchAll(/<(\w+)(?:\.\.)?>/g)].map((m) => m[1]).join(', ');
    return new TrainerError('E_USAGE', `missing ${names}: trainer ${spec} (see ${help})`);
  }
  return new TrainerError('E_USAGE', `${msg} (see ${help})`);
}

/**
 * The dotted config key a bare option meant (`--epochs 3`: `--train.epochs`, `--lr`: `--train.lr`),
 * matched on the key's last part, when one key of those the command takes has it: `--seed` is
 * run.seed or data.synthetic.seed, so no guess.
 */
function configKeyNamed(name: string, command: string): string | null {
  const keys = configKeysOf(command);
  const last = (key: string) => key.slice(key.lastIndexOf('.') + 1);
  const near = closest(name, new Set(keys.map(last))) ?? (keys.some((k) => last(k) === name) ? name : null);
  const meant = near === null ? [] : keys.filter((k) => last(k) === near);
  return meant.length === 1 ? (meant[0] as string) : null;
}

/** The dotted config keys `command` takes as flags. */
function configKeysOf(command: string): readonly string[] {
  const taken = COMMANDS[command]?.configKeys ?? [];
  return taken === 'all' ? configKeys() : taken;
}

/** The dotted key typed under `section` (`--trian.lr 0.1`, `--trian.lr=0.1`: trian.lr), or null. */
function dottedKeyTyped(section: string, args: readonly string[]): string | null {
  const token = typedWords(args).find((t) => t.startsWith(`--${section}.`));
  return token === undefined ? null : (token.slice(2).split('=')[0] as string);
}

/**
 * A number option given something that is not a number: yargs makes it NaN, which each command
 * would report as "got null" or "got NaN". Named here as typed, with what was given.
 */
function badNumber(parsed: Record<string, unknown>, args: readonly string[]): string | null {
  for (const [key, value] of Object.entries(parsed)) {
    // Infinity too (`--threads 1e400`, `--top Infinity`): every number option counts something, and the checks said "got null".
    if (!(typeof value === 'number' && !Number.isFinite(value))) continue;
    const what = Number.isNaN(value) ? 'a number' : 'a finite number';
    for (let i = 0; i < args.length; i++) {
      const token = args[i] as string;
      const given = token === `--${key}` ? (args[i + 1] ?? '') : token.startsWith(`--${key}=`) ? token.slice(key.length + 3) : null;
      if (given !== null) return `--${key} must be ${what}, got ${JSON.stringify(given)}`;
    }
  }
  return null;
}

/** A word yargs reads as a negative number, not as a flag (yargs-parser's own test): `--gpu -1`. */
const NEGATIVE = /^-([0-9]+(\.[0-9]+)?|\.[0-9]+)$/;

/** A word that is no flag but a value with a minus sign: no flag starts with a digit or a dot. */
const DASHED_VALUE = /^-(?:\.?[0-9]|Infinity$)/;

/**
 * An option's value typed with a minus sign in a form yargs takes for short flags: `--threads -1e3`
 * was "unknown option -1; unknown option -e" (and `--threads -5x` "unknown option -5"), so the value
 * never reached the option's own check. Such a word after an option that takes a value is joined to
 * it, `--threads=-1e3`, as yargs reads it: the option's check then says what is wrong with it.
 */
function dashedValuesJoined(command: string, args: readonly string[]): string[] {
  const declared = declaredOptions((COMMANDS[command] as Command).options);
  const spellings = (o: DeclaredOption) => [o.name, camel(o.name), ...[o.alias ?? []].flat()].map((n) => (n.length === 1 ? `-${n}` : `--${n}`));
  const taking = declared.filter((o) => o.type !== 'boolean').flatMap(spellings);
  // A name or path that starts with a dash (`--run -dash`, `-c -h.yaml`) was read as short flags:
  // `-dash` as -d -a -s -h, so `trainer eval --run -dash --json` printed the help, exit 0, and
  // `--run -xyz` was "unknown option -x; ...". A word after an option that takes a value is that
  // value, as getopt takes it, unless it is itself one of the command's one-letter flags (`-h`).
  const short = new Set(['-h', ...declared.flatMap(spellings).filter((s) => !s.startsWith('--'))]);
  const isValue = (next: string) => (DASHED_VALUE.test(next) && !NEGATIVE.test(next)) || (/^-[^-]./.test(next) && !short.has(next) && !NEGATIVE.test(next));
  const end = args.includes('--') ? args.indexOf('--') : args.length;
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const token = args[i] as string;
    const next = args[i + 1];
    if (i + 1 < end && taking.includes(token) && next !== undefined && isValue(next)) {
      out.push(`${token}=${next}`);
      i++;
    } else out.push(token);
  }
  return out;
}

/**
 * A number option typed with no number: last on the line or before another flag (`--top`), or
 * empty (`--top=`, `--top ""`). yargs left a bare one at its default or unset, and read an empty
 * one as 0, so `--top` listed 3 classes, `--port=` listened on any free port, `--retry-for-ms=`
 * retried forever and `--threads=` was "got 0". Named here as declared.
 */
function noNumber(command: string, args: readonly string[]): string | null {
  const typed = typedWords(args);
  for (const o of numberOptions(command)) {
    const none = (value: string) => value.trim() === '';
    const bare = (next: string | undefined) => next === undefined || none(next) || (next.startsWith('-') && !NEGATIVE.test(next));
    const missing = (token: string, i: number) =>
      o.spellings.some((s) => (token === s && bare(typed[i + 1])) || (token.startsWith(`${s}=`) && none(token.slice(s.length + 1))));
    if (typed.some(missing)) return `--${o.name} needs a number`;
  }
  return null;
}

/** A number option that took a word which is no number as its value (`--top x.png`), said as badNumber says it; null if none. */
function wordForNumber(command: string, args: readonly string[]): string | null {
  const typed = typedWords(args);
  for (const o of numberOptions(command)) {
    const at = typed.findIndex((t) => o.spellings.includes(t));
    const word = at < 0 ? undefined : typed[at + 1];
    if (word !== undefined && !word.startsWith('-') && Number.isNaN(Number(word))) return `--${o.name} must be a number, got ${JSON.stringify(word)}`;
  }
  return null;
}

/** The words typed before `--` (after it, every word is an argument). */
function typedWords(args: readonly string[]): readonly string[] {
  const end = args.indexOf('--');
  return end < 0 ? args : args.slice(0, end);
}

/** The command's number options, each with the ways it may be typed (--top-k, --topK, -k). */
function numberOptions(command: string): { name: string; spellings: string[] }[] {
  return declaredOptions((COMMANDS[command] as Command).options)
    .filter((o) => o.type === 'number')
    .map((o) => ({ name: o.name, spellings: [o.name, camel(o.name), ...[o.alias ?? []].flat()].map((n) => (n.length === 1 ? `-${n}` : `--${n}`)) }));
}

/**
 * A flag typed with a value other than true or false (`--resume=1`, `--auto-resume=yes`): yargs
 * reads any such value as false, so `--resume=1` started a new run in the next numbered folder,
 * exit 0, and `--json=1` printed text. Named here as typed. Dotted config keys are checked apart.
 */
function badFlag(command: string, args: readonly string[]): string | null {
  const typed = typedWords(args);
  for (const o of declaredOptions((COMMANDS[command] as Command).options)) {
    if (o.type !== 'boolean') continue;
    const spellings = [o.name, camel(o.name)].map((n) => `--${n}=`);
    for (const token of typed) {
      const prefix = spellings.find((s) => token.startsWith(s));
      if (prefix === undefined) continue;
      const value = token.slice(prefix.length);
      if (value !== 'true' && value !== 'false') return `--${o.name} is given alone, or as --${o.name}=true or --${o.name}=false; got ${JSON.stringify(token)}`;
    }
  }
  return null;
}

/**
 * A text option typed with an empty value or none (`--out ""`, `--config` last on the line): yargs
 * makes it "" (or [] for a repeatable one, which then counted as not given), and each command
 * went on to say something odd about an empty path ("cannot read config file : ENOENT").
 */
function emptyText(parsed: Record<string, unknown>, args: readonly string[]): string | null {
  for (const [key, value] of Object.entries(parsed)) {
    if (!(value === '' || (Array.isArray(value) && (value.length === 0 || value.includes(''))))) continue;
    // A one-letter alias (`-c`, last on the line) is typed with one dash; named where it has no value.
    const flag = key.length === 1 ? `-${key}` : `--${key}`;
    const bare = (i: number) => args[i + 1] === undefined || args[i + 1] === '' || (args[i + 1] as string).startsWith('-');
    if (args.some((token, i) => (token === flag && bare(i)) || token === `${flag}=`)) return `${flag} needs a value`;
  }
  return null;
}

/** What stands in yargs' input for the i-th word after `--`: a positional that no option takes. */
const literal = (i: number) => `\u0000${i}`;

/**
 * The command line with the words after `--` (`trainer predict --run R -- -x.png`) made positionals
 * of the command's list of files or runs, as typed: yargs set them apart, so predict and report
 * dropped them, exit 0, and `-- -x.png` alone was "not enough arguments". Those words stand in as
 * literal(i) until `restoreLiterals`. A lone `-` (standard input) is refused: yargs dropped it
 * without a word. A command without such a list takes no words after `--`.
 */
function literalArguments(command: string | undefined, args: readonly string[]): { args: string[]; words: string[] } {
  const end = args.indexOf('--');
  const typed = end < 0 ? [...args] : args.slice(0, end);
  if (command !== undefined && typed.includes('-')) {
    throw usageError(`"-" (standard input or output) is not read or written by trainer ${command}: name a file`, command, args);
  }
  const words = end < 0 ? [] : args.slice(end + 1);
  if (words.length > 0 && (command === undefined || VARIADIC[command] === undefined)) {
    throw usageError(`unexpected argument ${JSON.stringify(words[0])} after --`, command, args);
  }
  return { args: [...typed, ...words.map((_w, i) => literal(i))], words };
}

/** The command's list with each literal(i) back as the word typed. */
function restoreLiterals(command: string | undefined, parsed: Record<string, unknown>, words: readonly string[]): void {
  const list = command === undefined ? undefined : VARIADIC[command];
  if (list === undefined || words.length === 0 || !Array.isArray(parsed[list])) return;
  parsed[list] = (parsed[list] as unknown[]).map((v) => (typeof v === 'string' && v.startsWith('\u0000') ? (words[Number(v.slice(1))] ?? v) : v));
}

/** The commands whose last argument is a list (`predict <images..>`, `report [runs..]`), and its name. */
const VARIADIC: Record<string, string> = Object.fromEntries(
  Object.entries(COMMANDS).flatMap(([name, c]) => {
    const m = /\[(\w+)\.\.\]|<(\w+)\.\.>/.exec(c.spec);
    return m ? [[name, (m[1] ?? m[2]) as string]] : [];
  }),
);

/**
 * A config key the command does not take: eval, report, predict and the worker read a run's config
 * (or the coordinator's), and went on as if `--train.epochs 99` or `--data.classes [...]` had not
 * been given, or, for eval's data.classes, scored the model against relabelled images.
 */
function unusedConfigKey(command: string, overrides: Record<string, unknown>): TrainerError | null {
  const allowed = COMMANDS[command]?.configKeys ?? [];
  if (allowed === 'all') return null;
  const key = leafPaths(overrides).find((k) => !allowed.includes(k));
  if (key === undefined) return null;
  const takes = allowed.length === 0 ? 'takes no config keys' : `takes only ${allowed.map((k) => `--${k}`).join(', ')} of the run's config keys`;
  return new TrainerError('E_USAGE', `trainer ${command} ${takes}, not --${key} (see trainer ${command} --help)`);
}

/**
 * yargs renders a command's whole help text as the command's handler starts (its usage instance's
 * cacheHelpMessage), for a showHelp() after the handler that trainer never calls: about 0.05 s of
 * CPU at every start of every command. Skipped where the instance has it (an internal of yargs:
 * without it nothing changes but the time).
 */
function skipHelpCache(y: Argv): void {
  type Usage = { cacheHelpMessage?: () => void };
  const usage = (y as unknown as { getInternalMethods?: () => { getUsageInstance?: () => Usage } }).getInternalMethods?.().getUsageInstance?.();
  if (typeof usage?.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => {};
}

export async function main(argv: string[]): Promise<void> {
  watchOutput();
  checkWorkingFolder();
  // The help lists the variables and the values they take: a mistyped one did not let it be read.
  const typed = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
  if (!typed.some((a) => a === '--help' || a === '-h' || a === '--version')) checkEnvironment();
  const { rest: words, overrides } = extractConfigFlags(argv);
  const first = words[0];
  const command = first !== undefined && first in COMMANDS ? first : undefined;
  const rest = command === undefined ? words : dashedValuesJoined(command, words);
  if (first !== undefined && !first.startsWith('-') && command === undefined) {
    const near = closest(first, Object.keys(COMMANDS));
    throw new TrainerError('E_USAGE', `unknown command ${JSON.stringify(first)}${near ? `; did you mean ${near}?` : ''} (see trainer --help)`);
  }
  const unused = command === undefined ? null : unusedConfigKey(command, overrides);
  if (unused !== null) throw unused;
  const literals = literalArguments(command, rest);
  let y = yargs(literals.args)
    .scriptName('trainer')
    .usage('$0 <command> [options]\n\nData-parallel training of CNNs on CIFAR with TensorFlow.js.');
  skipHelpCache(y);
  let ran = false;
  for (const c of Object.values(COMMANDS)) {
    y = y.command(c.spec, c.describe, c.options, async (a) => {
      ran = true;
      const [handler] = await Promise.all([c.load(), c.computes && import('../worker/tf.js').then((tf) => tf.enableProdMode())]); // no debug checks, no console banners
      if (!c.takesSignals) endStartSignals();
      await handler(a as never, overrides);
    });
  }
  await y
    .demandCommand(1, `name a command: ${Object.keys(COMMANDS).join(', ')}`)
    .epilog(`trainer <command> --help lists a command's options. ${ENV_HELP}`)
    .strict()
    .middleware((a) => {
      restoreLiterals(command, a, literals.words);
      const bad =
        (command === undefined ? null : noNumber(command, rest)) ??
        badNumber(a, rest) ??
        emptyText(a, rest) ??
        (command === undefined ? null : (badFlag(command, rest) ?? givenTwice(command, a, rest)));
      if (bad !== null) throw usageError(bad, command, rest);
    })
    .help()
    .alias('h', 'help')
    .version(VERSION)
    // yargs exited at once after the help or the version, before a failed write to stdout (ENOSPC:
    // `> /dev/full`, a full disk) was heard: exit 0 with nothing written. The process now ends as any
    // other command's does, and such a write is E_IO.
    .exitProcess(false)
    .fail((msg, err) => {
      if (err) throw err;
      throw usageError(msg, command, rest);
    })
    .parseAsync();
  // A training run is over (stopOnSignal's end): exit now, with its status. Left to drain, Node sets
  // the signals back to their default actions some 50 ms before the process ends, and a scheduler's
  // SIGTERM then made a finished run, model saved, exit 143.
  if (ran && (command === 'train' || command === 'coordinator')) {
    // Output still queued (pipes are asynchronous on macOS) goes first; a closed one is not waited for.
    const queued = [process.stdout, process.stderr].filter((s) => s.writableLength > 0 && !s.destroyed);
    const drained = Promise.all(queued.map((s) => new Promise((r) => s.once('drain', r))));
    await Promise.race([drained, new Promise((r) => setTimeout(r, 2000).unref())]);
    process.exit(process.exitCode ?? 0);
  }
}

main(hideBin(process.argv)).catch(fail);
