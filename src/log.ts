import fs = require('node:fs');
import path = require('node:path');
import type { LogOptions } from './config/braid-config';
import { writeStderr } from './stdio';

/** Log levels, least to most verbose (Multus's, plus "warning" between error and verbose). */
export const LEVELS = ['panic', 'error', 'warning', 'verbose', 'debug'] as const;
/** One of LEVELS. */
export type Level = (typeof LEVELS)[number];

/** Where and how much to log. */
export interface LogSettings {
  level: Level;
  toStderr: boolean;
  file: string;
  options: LogOptions;
}

let settings: LogSettings = { level: 'panic', toStderr: true, file: '', options: { maxAge: 5, maxSize: 100, maxBackups: 5, compress: true } };
let prefix = '';

/** Applies the config's log settings; an unknown level keeps the current one, as Multus does. */
export function configureLog(next: Omit<LogSettings, 'level'> & { level: string }): void {
  const level = (LEVELS as readonly string[]).includes(next.level) ? (next.level as Level) : settings.level;
  settings = { ...next, level };
  if (level !== next.level) log('error', `cannot set logging level to ${next.level}`);
}

/** Sets the text put before every message (the container ID, so lines of concurrent pods can be told apart). */
export function setLogPrefix(p: string): void {
  prefix = p;
}

/** Writes one line at `level` to stderr and/or the log file. */
export function log(level: Exclude<Level, 'panic'> | 'panic', msg: string): void {
  if (LEVELS.indexOf(level) > LEVELS.indexOf(settings.level)) return;
  const line = `${new Date().toISOString()} [${level}] ${prefix}${msg}\n`;
  if (settings.toStderr) writeStderr(line);
  if (settings.file) appendToFile(settings.file, line);
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
