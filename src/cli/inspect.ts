import fs = require('node:fs');
import { asCniError } from '../cni/errors';
import { validContainerID } from '../cni/env';
import { locksDir } from '../commands/common';
import { listCachedContainers, readCache } from '../store/cache';
import { lockHolder, lockPath } from '../store/lock';
import { writeAll } from '../stdio';
import { flag, outputFormat, runCommand, UsageError, type CommandSpec } from './args';
import { loadBraidConfigFile } from './config-file';
import { renderContainer, renderList } from './inspect-render';
import { containerView, type ContainerView } from './inspect-view';

const SPEC: CommandSpec = {
  usage: `Usage: braid inspect --config FILE [CONTAINER_ID] [flags]

Reads braid's cache in the config's cniDir; changes nothing. With a container ID: its pod, netns, lock,
attachments (state, interfaces, IPs, device), dynamic-network history and each delegate's cached result.
Without one: every container braid holds, with its pod. Flags a corrupt cache, a lock whose holder is
gone (the next ADD or DEL takes it over) and a DEL left unfinished (retryDeleteOnError).

Flags:
  --config FILE      braid config (conf or conflist) whose cniDir to read
  -o, --output FMT   text (default) or json
  -h, --help         this text

Exit status: 0 nothing to flag, 1 a problem flagged or no such container, 2 usage error.
`,
  flags: { config: 'value', output: 'value' },
};

// Containers that only have a lock file (a lock left behind by a holder that died before the cache was written).
function lockedContainers(cniDir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(locksDir(cniDir));
  } catch {
    return [];
  }
  return names.filter((n) => n.endsWith('.lock')).map((n) => n.slice(0, -'.lock'.length)).filter(validContainerID);
}

function inspectOne(cniDir: string, id: string): ContainerView {
  return containerView(id, readCache(cniDir, id), lockHolder(lockPath(locksDir(cniDir), id)));
}

/** `braid inspect`: exit 0 nothing flagged, 1 problems or no such container, 2 usage. */
export function main(args: string[]): Promise<number> {
  return runCommand(args, SPEC, async (parsed) => {
    const format = outputFormat(parsed);
    const configFile = flag(parsed, 'config');
    if (!configFile) throw new UsageError('--config is required');
    if (parsed.positionals.length > 1) throw new UsageError('at most one container ID');
    let cniDir: string;
    try {
      cniDir = loadBraidConfigFile(configFile).cniDir;
    } catch (e) {
      throw new UsageError(`--config: ${asCniError(e).message}`);
    }
    const [id] = parsed.positionals;
    if (id !== undefined) {
      const view = inspectOne(cniDir, id);
      if (view.cache === 'missing' && !view.lock) {
        writeAll(format === 'json' ? 1 : 2, format === 'json' ? `${JSON.stringify(view, null, 2)}\n` : `braid inspect: no cache for container ${id} in ${cniDir}\n`);
        return 1;
      }
      writeAll(1, format === 'json' ? `${JSON.stringify(view, null, 2)}\n` : renderContainer(view));
      return view.problems.length > 0 ? 1 : 0;
    }
    const ids = [...new Set([...listCachedContainers(cniDir), ...lockedContainers(cniDir)])].sort();
    const views = ids.map((c) => inspectOne(cniDir, c));
    writeAll(1, format === 'json' ? `${JSON.stringify({ cniDir, containers: views }, null, 2)}\n` : renderList(views));
    return views.some((v) => v.problems.length > 0) ? 1 : 0;
  });
}
