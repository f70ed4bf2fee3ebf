import fs = require('node:fs');
import { DEFAULTS } from '../config/braid-config';
import { configureLog, log, setLogContext } from '../log';
import { writeAll } from '../stdio';
import { installBinary } from './binary';
import { FlagError, installHelp, parseInstallFlags, type InstallFlags } from './flags';
import { Installer } from './installer';
import { layout } from './layout';

function copyBinary(flags: InstallFlags, target: string): void {
  if (flags.skipBinaryCopy) {
    log('verbose', 'binary copy skipped (--skip-binary-copy)');
    return;
  }
  const copied = installBinary(process.execPath, target);
  log('verbose', copied ? `copied ${process.execPath} to ${target}` : `${target} is already this executable: not copied`);
}

// Resolves on the first SIGTERM or SIGINT: the DaemonSet pod is being stopped.
function terminated(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
}

// Polls until stopped; each sync finishes before the next one is scheduled, so they never overlap.
async function watch(installer: Installer, flags: InstallFlags, stop: Promise<string>): Promise<string> {
  let stopped: string | undefined;
  void stop.then((s) => { stopped = s; });
  let wake: () => void = () => undefined;
  void stop.then(() => wake());
  for (;;) {
    await new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, flags.pollInterval * 1000);
    });
    if (stopped) return stopped;
    await installer.sync();
  }
}

/** `braid install`: copy, generate, keep current until SIGTERM, then clean up. Resolves to the exit code. */
export async function main(args: string[]): Promise<number> {
  let flags: InstallFlags;
  try {
    flags = parseInstallFlags(args);
  } catch (e) {
    if (!(e instanceof FlagError)) throw e;
    writeAll(2, `braid install: ${e.message}\n\n${installHelp()}`);
    return 2;
  }
  if (flags.help) {
    writeAll(1, installHelp());
    return 0;
  }
  if (flags.checkReadiness) return fs.existsSync(flags.readinessFile) ? 0 : 1;
  configureLog({ level: 'verbose', format: 'text', toStderr: true, file: '', options: DEFAULTS.logOptions });
  setLogContext({ command: 'install' });
  const stop = terminated();
  const paths = layout(flags);
  log('verbose', `starting: bin dir ${flags.cniBinDir}, conf dir ${flags.cniConfDir}, config ${flags.configFile}, host root ${flags.hostRoot || '/'}`);
  try {
    copyBinary(flags, paths.binary);
  } catch (e) {
    log('error', `cannot install the executable into ${flags.cniBinDir}: ${(e as Error).message}`);
    return 1;
  }
  const installer = new Installer(flags, paths, process.env);
  await installer.sync();
  const signal = flags.skipConfigWatch ? await stop : await watch(installer, flags, stop);
  log('verbose', `${signal}: stopping`);
  installer.cleanup();
  return 0;
}
