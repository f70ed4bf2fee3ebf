import fs = require('node:fs');
import path = require('node:path');
import type { LogOptions } from './config/braid-config';
import { redact, redactText } from './redact';
import { writeStderr } from './stdio';

/** Log levels, least to most verbose (Multus's, plus "warning" between error and verbose). */
export const LEVELS = ['panic', 'error', 'warning', 'verbose', 'debug'] as const;
/** One of LEVELS. */
export type Level = (typeof LEVELS)[number];
/** How lines are written: Multus's `time [level] msg` text, or one JSON object per line for log shippers. */
export type LogFormat = 'text' | 'json';
/** Structured details of one line (JSON `fields`; `key=value` pairs in text). */
export type LogFields = Record<string, unknown>;

/**
 * The level when logLevel is unset. Multus's default, panic, shows nothing at all, so an operator never
 * sees an ignored key or a skipped network; braid's default shows errors and warnings, which a healthy
 * ADD does not produce. An explicitly configured level keeps Multus's meaning.
 */
export const DEFAULT_LEVEL: Level = 'warning';

/** Where and how much to log. */
export interface LogSettings {
  level: Level;
  format: LogFormat;
  toStderr: boolean;
  file: string;
  options: LogOptions;
}

/** Who a line is about: the CNI command, its container and, when CNI_ARGS names it, the pod (`ns/name`). */
export interface LogContext {
  command: string;
  container: string;
  pod: string;
}

let settings: LogSettings = {
  level: DEFAULT_LEVEL, format: 'text', toStderr: true, file: '', options: { maxAge: 5, maxSize: 100, maxBackups: 5, compress: true },
};
let context: LogContext = { command: '', container: '', pod: '' };

/**
 * Applies the config's log settings. A level of '' is DEFAULT_LEVEL, and an unknown one keeps the current
 * level, as Multus does; the format is matched case-insensitively ('' is text). A bad value is reported,
 * never fatal: log settings must not fail a command.
 */
export function configureLog(next: Omit<LogSettings, 'level' | 'format'> & { level: string; format: string }): void {
  const wanted = next.level === '' ? DEFAULT_LEVEL : next.level;
  const level = (LEVELS as readonly string[]).includes(wanted) ? (wanted as Level) : settings.level;
  const format = next.format.toLowerCase() === 'json' ? 'json' : 'text';
  settings = { ...next, level, format };
  if (level !== wanted) logAlways('error', `cannot set logging level to ${next.level}`);
  if (!['', 'text', 'json'].includes(next.format.toLowerCase())) logAlways('warning', `unknown logFormat ${JSON.stringify(next.format)}: using text`);
}

/** Sets who the following lines are about (the runtime's container ID, so lines of concurrent pods can be told apart). */
export function setLogContext(next: Partial<LogContext>): void {
  context = { ...context, ...next };
}

/**
 * Runs `fn` with lines about another container and pod (GC's DEL of a stale container), then restores the
 * context. The context is the process's: not for work that runs concurrently (pass fields instead).
 */
export async function withLogContext<T>(next: Partial<LogContext>, fn: () => Promise<T>): Promise<T> {
  const saved = context;
  context = { ...context, ...next };
  try {
    return await fn();
  } finally {
    context = saved;
  }
}

/** True when lines at `level` are written: callers check it before building costly fields. */
export function logEnabled(level: Level): boolean {
  return LEVELS.indexOf(level) <= LEVELS.indexOf(settings.level);
}

/**
 * Writes one line at `level` to stderr and/or the log file. `msg` and `fields` may be functions, called
 * only when the level is on, so a verbose or debug line costs nothing when it is off.
 */
export function log(level: Level, msg: string | (() => string), fields?: LogFields | (() => LogFields)): void {
  if (!logEnabled(level)) return;
  write(render(level, typeof msg === 'function' ? msg() : msg, typeof fields === 'function' ? fields() : fields));
}

/** Writes one line whatever the level: a bad setting must be seen even at panic, as Multus prints it unconditionally. */
export function logAlways(level: Level, msg: string, fields?: LogFields): void {
  write(render(level, msg, fields));
}

function write(line: string): void {
  if (settings.toStderr) writeStderr(line);
  if (settings.file) appendToFile(settings.file, line);
}

/**
 * Passes a delegate's stderr on to braid's stderr (CNI spec §4), whatever the level. Secrets are
 * redacted; in JSON format it becomes one record, so every line of stderr still parses.
 */
export function passPluginStderr(text: string, failed: boolean, fields: LogFields): void {
  if (!text) return;
  if (settings.format === 'text') writeStderr(redactText(text));
  else writeStderr(render(failed ? 'error' : 'warning', 'plugin stderr', { ...fields, stderr: text }));
}

function render(level: Level, msg: string, fields: LogFields | undefined): string {
  const time = new Date().toISOString();
  const safeMsg = redactText(msg);
  const safeFields = fields ? (redact(fields) as LogFields) : {};
  if (settings.format === 'json') {
    const { command, container, pod } = context;
    return `${JSON.stringify({ time, level, container: container || null, pod: pod || null, command: command || null, msg: safeMsg, fields: safeFields })}\n`;
  }
  const who = [context.command, context.container && `container=${context.container}`, context.pod && `pod=${context.pod}`].filter(Boolean).join(' ');
  const pairs = Object.entries(safeFields).filter(([, v]) => v !== undefined).map(([k, v]) => ` ${k}=${typeof v === 'string' && /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v)}`).join('');
  return `${time} [${level}] ${who ? `${who}: ` : ''}${safeMsg}${pairs}\n`;
}

function appendToFile(file: string, line: string): void {
  try {
    rotateIfNeeded(file, Buffer.byteLength(line));
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.appendFileSync(file, line, { mode: 0o600 });
  } catch (e) {
    // A broken log file must never fail a CNI operation.
    writeStderr(`braid: cannot write log file ${file}: ${(e as Error).message}\n`);
  }
}

// Size-based rotation shared by concurrent processes: the rename is atomic, so exactly one
// process moves a full file aside; the others just append to the fresh one.
function rotateIfNeeded(file: string, incoming: number): void {
  const { maxSize } = settings.options;
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch {
    return;
  }
  if (size + incoming <= maxSize * 1024 * 1024) return;
  const backup = `${file}.${new Date().toISOString().replace(/[:.]/g, '-')}.${process.pid}`;
  try {
    fs.renameSync(file, backup);
  } catch {
    return; // another process rotated it first
  }
  if (settings.options.compress) {
    const { gzipSync } = require('node:zlib') as typeof import('node:zlib'); // only paid when rotating
    fs.writeFileSync(`${backup}.gz`, gzipSync(fs.readFileSync(backup)), { mode: 0o600 });
    fs.rmSync(backup);
  }
  pruneBackups(file);
}

/** Deletes rotated files beyond maxBackups (newest kept) and older than maxAge days. */
export function pruneBackups(file: string): void {
  const { maxBackups, maxAge } = settings.options;
  const dir = path.dirname(file);
  const base = `${path.basename(file)}.`;
  const backups = fs.readdirSync(dir)
    .filter((n) => n.startsWith(base))
    .map((n) => ({ file: path.join(dir, n), mtime: fs.statSync(path.join(dir, n)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  const cutoff = Date.now() - maxAge * 86_400_000;
  backups.forEach((b, i) => {
    if ((maxBackups > 0 && i >= maxBackups) || (maxAge > 0 && b.mtime < cutoff)) fs.rmSync(b.file, { force: true });
  });
}
