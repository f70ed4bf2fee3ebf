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

// Resolves on the first SIGTERM or SIGINT: the DaemonSet pod is being stopped. Signal handlers do not
// keep node's event loop alive, so a timer does until then.
function terminated(): Promise<string> {
  return new Promise((resolve) => {
    const alive = setInterval(() => undefined, 1 << 30);
    const on = (signal: string) => () => {
      clearInterval(alive);
      resolve(signal);
    };
    process.once('SIGTERM', on('SIGTERM'));
    process.once('SIGINT', on('SIGINT'));
  });
}

// Syncs every poll interval until stopped (with --skip-config-watch, only until the config is installed).
// Each sync finishes before the next is scheduled, so they never overlap; a signal cuts the wait short.
async function watch(installer: Installer, flags: InstallFlags, stop: Promise<string>): Promise<string> {
  let stopped: string | undefined;
  let wake: () => void = () => undefined;
  void stop.then((s) => {
    stopped = s;
    wake();
  });
  await installer.sync();
  while (!stopped) {
    if (flags.skipConfigWatch && installer.isInstalled()) {
      log('verbose', 'installed: not watching for changes (--skip-config-watch)');
      return stop;
    }
    await new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, flags.pollInterval * 1000);
    });
    if (!stopped) await installer.sync();
  }
  return stopped;
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
  const signal = await watch(installer, flags, stop);
  log('verbose', `${signal}: stopping`);
  installer.cleanup();
  return 0;
}
