import fs = require('node:fs');
import path = require('node:path');
import { asCniError, CniError, ErrorCode } from '../cni/errors';
import type { Request } from '../cni/env';
import type { BraidConfig } from '../config/braid-config';
import type { DelegateEnv } from '../delegate/invoke';
import { log } from '../log';
import type { Attachment } from '../plan/plan';
import type { CachedAttachment, ContainerCache } from '../store/cache';
import { withLock } from '../store/lock';

/** binDir first, then CNI_PATH (Multus order), without repeats. */
export function pluginDirs(config: BraidConfig, req: Request): string[] {
  return [...new Set([config.binDir, ...req.path])];
}

/** The CNI_* environment for one attachment's delegates. */
export function delegateEnv(req: Request, config: BraidConfig, att: Pick<Attachment, 'ifname' | 'cniArgs'>, netns = req.netns): DelegateEnv {
  return {
    containerID: req.containerID,
    netns,
    ifname: att.ifname,
    cniArgs: att.cniArgs,
    pluginDirs: pluginDirs(config, req),
    timeoutMs: config.delegateTimeout * 1000,
  };
}

/** The directory of the per-container locks: `<cniDir>/locks`. */
export function locksDir(cniDir: string): string {
  return path.join(cniDir, 'locks');
}

/** Runs `fn` under the container's lock in `<cniDir>/locks`, waiting at most as long as two delegate timeouts. */
export function withContainerLock<T>(config: BraidConfig, containerID: string, fn: () => Promise<T>): Promise<T> {
  return withLock(locksDir(config.cniDir), containerID, 2 * config.delegateTimeout * 1000, fn);
}

/** Waits (bounded) for the readinessindicatorfile, as ADD and STATUS must. */
export async function waitForReadiness(config: BraidConfig): Promise<void> {
  const file = config.readinessindicatorfile;
  if (!file) return;
  const deadline = Date.now() + config.readinessTimeout * 1000;
  while (!fs.existsSync(file)) {
    if (Date.now() >= deadline) {
      throw new CniError(ErrorCode.TryAgainLater,
        `have you checked that your default network is ready? still waiting for readinessindicatorfile @ ${file} after ${config.readinessTimeout}s`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Prefixes a delegate error with the network and interface it belongs to, keeping the delegate's code. */
export function wrapNetworkError(verb: string, att: Pick<Attachment, 'network' | 'ifname'>, err: unknown): CniError {
  const e = asCniError(err);
  return new CniError(e.code, `error ${verb} network ${JSON.stringify(att.network)} (${att.ifname}): ${e.message}`, e.details);
}

/** The netns to hand delegates on DEL: empty when the runtime's netns is already gone (spec: DEL must still finish). */
export function netnsForDel(netns: string): string {
  if (netns && !fs.existsSync(netns)) {
    log('verbose', `netns ${netns} is gone; delegates get an empty CNI_NETNS`);
    return '';
  }
  return netns;
}

/** A cache document for this container holding `attachments`. */
export function newCache(req: Request, config: BraidConfig, attachments: CachedAttachment[]): ContainerCache {
  return { kind: 'braidCacheV1', containerID: req.containerID, netns: req.netns, ifname: req.ifname, cniVersion: config.cniVersion, args: req.args, path: req.path, attachments };
}
