import { writeAll } from '../stdio';

/** How a flag takes its value: none (a switch), one value, or one value per occurrence. */
export type FlagKind = 'switch' | 'value' | 'list';

/** A bad command line: the subcommand exits 2 after printing it. */
export class UsageError extends Error {}

/** The command line after parsing: flags by name (without dashes) and the positional arguments. */
export interface ParsedArgs {
  flags: Map<string, string[]>;
  positionals: string[];
}

/** What a subcommand accepts: its usage text and its flags (`-o` is short for `--output`). */
export interface CommandSpec {
  usage: string;
  flags: Record<string, FlagKind>;
}

/** Parses `--name value`, `--name=value` and `--switch`; `--` ends the flags. Throws UsageError. */
export function parseArgs(args: string[], flags: Record<string, FlagKind>): ParsedArgs {
  const out: ParsedArgs = { flags: new Map(), positionals: [] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') {
      out.positionals.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      out.positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const raw = eq > 0 ? arg.slice(0, eq) : arg;
    const name = raw === '-o' ? 'output' : raw.replace(/^--/, '');
    const kind = raw.startsWith('--') || raw === '-o' ? flags[name] : undefined;
    if (kind === undefined) throw new UsageError(`unknown flag ${raw}`);
    let value = 'true';
    if (kind === 'switch') {
      if (eq > 0) throw new UsageError(`${raw} takes no value`);
    } else if (eq > 0) {
      value = arg.slice(eq + 1);
    } else {
      if (i + 1 >= args.length) throw new UsageError(`${raw} needs a value`);
      value = args[++i];
    }
    const seen = out.flags.get(name) ?? [];
    if (kind !== 'list' && seen.length > 0) throw new UsageError(`${raw} given more than once`);
    out.flags.set(name, [...seen, value]);
  }
  return out;
}

/** The single value of a flag, or undefined when absent. */
export function flag(parsed: ParsedArgs, name: string): string | undefined {
  return parsed.flags.get(name)?.[0];
}

/** The output format `--output` asks for: text (default) or json. */
export function outputFormat(parsed: ParsedArgs): 'text' | 'json' {
  const v = flag(parsed, 'output') ?? 'text';
  if (v !== 'text' && v !== 'json') throw new UsageError(`--output must be text or json, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * Runs a subcommand: `--help` prints its usage (exit 0); a UsageError prints the reason and the usage on
 * stderr (exit 2); otherwise `body` decides the exit code.
 */
export async function runCommand(args: string[], spec: CommandSpec, body: (parsed: ParsedArgs) => Promise<number>): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    writeAll(1, spec.usage);
    return 0;
  }
  try {
    return await body(parseArgs(args, spec.flags));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    writeAll(2, `braid: ${e.message}\n\n${spec.usage}`);
    return 2;
  }
}
