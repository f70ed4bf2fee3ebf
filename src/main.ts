import { fstatSync, readSync } from 'node:fs';
import { asCniError, CniError, ErrorCode } from './cni/errors';
import { parseEnv } from './cni/env';
import { CURRENT_VERSION, isSupportedVersion } from './cni/version';
import { version } from './commands/version';
import { writeAll } from './stdio';

// Entry point. VERSION is answered before anything heavier than this file is evaluated: every
// other module is imported lazily, only by the command that needs it.

// A terminal (or /dev/null) on stdin means no config. fstat rather than tty.isatty: node:tty pulls in
// node's whole net/stream stack, which VERSION would otherwise pay for.
function stdinIsCharDevice(): boolean {
  try {
    return fstatSync(0).isCharacterDevice();
  } catch {
    return true; // no stdin at all: nothing to read either
  }
}

function readStdin(): string {
  if (stdinIsCharDevice()) return '';
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(65536);
  for (;;) {
    let n: number;
    try {
      n = readSync(0, buf, 0, buf.length, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        // A runtime may hand over a non-blocking pipe and write the config late: wait for it.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
        continue;
      }
      if (code === 'EOF') break;
      throw new CniError(ErrorCode.IoFailure, `cannot read stdin: ${(e as Error).message}`);
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function run(stdin: string, setVersion: (v: string) => void): Promise<unknown> {
  if (process.argv[2] === '--version' || process.argv[2] === 'version') {
    writeAll(2, `braid ${CURRENT_VERSION} CNI meta-plugin; CNI versions ${version('').supportedVersions.join(', ')}\n`);
    return undefined;
  }
  if (!process.env.CNI_COMMAND) throw new CniError(ErrorCode.InvalidEnv, 'required env variables [CNI_COMMAND] missing');
  const req = parseEnv(process.env);
  if (req.command === 'VERSION') return version(stdin);
  const { decodeJson, parseBraidConfig } = await import('./config/braid-config');
  const doc = decodeJson(stdin, 'network configuration on stdin');
  // Errors answer in the caller's version, unless it is one braid does not speak.
  if (typeof doc.cniVersion === 'string' && isSupportedVersion(doc.cniVersion)) setVersion(doc.cniVersion);
  const config = parseBraidConfig(doc);
  const { configureLog, log, setLogPrefix } = await import('./log');
  configureLog({ level: config.logLevel, toStderr: config.logToStderr, file: config.logFile, options: config.logOptions });
  setLogPrefix(req.containerID ? `${req.containerID.slice(0, 12)} ${req.command} ` : `${req.command} `);
  if (config.unknownKeys.length > 0) log('warning', `ignoring unknown config keys: ${config.unknownKeys.join(', ')}`);
  const { requireVersion } = await import('./commands/gate');
  requireVersion(req.command, config.cniVersion);
  switch (req.command) {
    case 'ADD': return (await import('./commands/add')).add(req, config);
    case 'DEL': return (await import('./commands/del')).del(req, config);
    case 'CHECK': return (await import('./commands/check')).check(req, config);
    case 'STATUS': return (await import('./commands/status')).status(req, config);
    case 'GC': return (await import('./commands/gc')).gc(req, config, doc);
  }
}

async function main(): Promise<void> {
  let cniVersion = CURRENT_VERSION;
  let exitCode = 0;
  let output: unknown;
  try {
    output = await run(readStdin(), (v) => { cniVersion = v; });
  } catch (e) {
    const err = asCniError(e);
    exitCode = 1;
    output = err.toJSON(cniVersion);
    try {
      const { log } = await import('./log');
      log('error', `${err.message} (code ${err.code})`);
    } catch {
      // logging must not hide the error
    }
  }
  if (output !== undefined) writeAll(1, `${JSON.stringify(output)}\n`);
  process.exit(exitCode);
}


void main();
