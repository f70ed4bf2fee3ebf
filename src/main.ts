import { fstatSync, readSync } from 'node:fs';
import { asCniError, CniError, ErrorCode } from './cni/errors';
import { parseEnv } from './cni/env';
import { CURRENT_VERSION, isSupportedVersion } from './cni/version';
import { version } from './commands/version';
import { writeAll } from './stdio';

/** The package version, set by the build (package.json). */
declare const BRAID_VERSION: string;
const PACKAGE_VERSION = typeof BRAID_VERSION === 'string' ? BRAID_VERSION : '0.0.0-dev';

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
  const req = parseEnv(process.env);
  if (req.command === 'VERSION') return version(stdin);
  const [{ decodeJson, parseBraidConfig }, { configureLog, setLogContext }, { podLabel }] = await Promise.all([
    import('./config/braid-config'), import('./log'), import('./k8s/pod'),
  ]);
  // Every line, a config error's included, says which container and pod it is about.
  setLogContext({ command: req.command, container: req.containerID, pod: podLabel(req.args) });
  const doc = decodeJson(stdin, 'network configuration on stdin');
  // Errors answer in the caller's version, unless it is one braid does not speak.
  if (typeof doc.cniVersion === 'string' && isSupportedVersion(doc.cniVersion)) setVersion(doc.cniVersion);
  const config = parseBraidConfig(doc, req.command === 'DEL' || req.command === 'GC' ? 'del' : 'strict');
  configureLog({ level: config.logLevel, format: config.logFormat, toStderr: config.logToStderr, file: config.logFile, options: config.logOptions });
  (await import('./config/report')).reportConfigWarnings(config);
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

// Operator mode: no CNI_COMMAND. Flags and subcommands; the CNI paths never load any of this.
async function runTool(args: string[]): Promise<number> {
  const [first = '', ...rest] = args;
  if (first === '--version' || first === '-v' || first === 'version') {
    writeAll(1, `braid ${PACKAGE_VERSION}\nCNI versions: ${version('').supportedVersions.join(', ')}\n`);
    return 0;
  }
  const { helpText } = await import('./cli/help');
  if (first === '--help' || first === '-h' || first === 'help') {
    writeAll(1, helpText());
    return 0;
  }
  const { SUBCOMMANDS } = await import('./cli/subcommands');
  const sub = Object.hasOwn(SUBCOMMANDS, first) ? SUBCOMMANDS[first] : undefined;
  if (sub) return (await sub.load()).main(rest);
  // No CNI_COMMAND and nothing braid knows: a person at a shell, not a runtime.
  writeAll(2, `${first ? `braid: unknown subcommand ${JSON.stringify(first)}\n\n` : ''}${helpText()}`);
  return first ? 2 : 1;
}

async function main(): Promise<void> {
  // Runtimes exec plugins without arguments: one that forgot CNI_COMMAND (other CNI_* set) still gets
  // CNI error JSON; a person at a shell gets the tools.
  const args = process.argv.slice(2);
  const runtimeCall = args.length === 0 && Object.keys(process.env).some((k) => k.startsWith('CNI_'));
  if (!process.env.CNI_COMMAND && !runtimeCall) {
    let code = 1;
    try {
      code = await runTool(args);
    } catch (e) {
      writeAll(2, `braid: ${(e as Error).message}\n`);
    }
    process.exit(code);
  }
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
