import { parseResult } from '../cni/result';
import { podFromCniArgs } from '../k8s/pod';
import type { CacheRead, CachedAttachment, ContainerCache, HistoryEntry } from '../store/cache';
import type { LockHolder } from '../store/lock';

/** One attachment as inspect shows it: where it stands, and the interfaces and IPs its result reports. */
export interface AttachmentView {
  network: string;
  ifname: string;
  state: CachedAttachment['state'];
  clusterNetwork: boolean;
  deviceID?: string;
  interfaces: Array<{ name: string; mac?: string; sandbox?: string }>;
  ips: string[];
  /** The delegate's ADD result as cached (in the network's cniVersion); absent until the ADD succeeded. */
  result?: Record<string, unknown>;
  /** Why the result could not be read, when it could not. */
  resultError?: string;
}

/** What inspect knows about one container: its cache (or why it is unreadable) and its lock. */
export interface ContainerView {
  containerID: string;
  cache: 'ok' | 'corrupt' | 'missing';
  /** Why the cache is corrupt. */
  reason?: string;
  /** The pod as ns/name, from the CNI_ARGS braid was called with. */
  pod?: string;
  netns?: string;
  ifname?: string;
  cniVersion?: string;
  /** The networks annotation the attachments were planned from. */
  networks?: string;
  lock?: LockHolder & { stale: boolean };
  attachments: AttachmentView[];
  history: HistoryEntry[];
  /** What an operator should look at: a corrupt cache, a lock whose holder died, a DEL left unfinished. */
  problems: string[];
}

function attachmentView(att: CachedAttachment): AttachmentView {
  const view: AttachmentView = {
    network: att.network, ifname: att.ifname, state: att.state, clusterNetwork: att.clusterNetwork,
    ...(att.deviceID ? { deviceID: att.deviceID } : {}), interfaces: [], ips: [],
  };
  if (!att.result) return view;
  view.result = att.result;
  try {
    const result = parseResult(att.result, att.config.cniVersion);
    view.interfaces = (result.interfaces ?? []).map(({ name, mac, sandbox }) => ({ name, ...(mac ? { mac } : {}), ...(sandbox ? { sandbox } : {}) }));
    view.ips = (result.ips ?? []).map((ip) => ip.address);
  } catch (e) {
    view.resultError = (e as Error).message;
  }
  return view;
}

function podOf(cache: ContainerCache): string | undefined {
  const args = cache.args ?? cache.attachments[0]?.cniArgs ?? '';
  try {
    const ref = podFromCniArgs(args);
    return ref ? `${ref.namespace}/${ref.name}` : undefined;
  } catch {
    return undefined;
  }
}

function problemsOf(view: ContainerView): string[] {
  const problems: string[] = [];
  if (view.cache === 'corrupt') problems.push(`corrupt cache: ${view.reason}; DEL falls back to the current config`);
  if (view.lock?.stale) problems.push(`lock held by a holder that is gone (${view.lock.token || 'never written'}): the next ADD/DEL takes it over`);
  const left = view.attachments.filter((a) => a.state !== 'deleted');
  if (view.cache === 'ok' && view.attachments.some((a) => a.state === 'deleted') && left.length > 0) {
    problems.push(`unfinished DEL: ${left.map((a) => `${a.ifname} (${a.network})`).join(', ')} still to delete; the runtime's next DEL retries them`);
  }
  return problems;
}

/** Builds the view of one container from its cache read and its lock holder. */
export function containerView(containerID: string, read: CacheRead, holder: LockHolder | undefined): ContainerView {
  const view: ContainerView = { containerID, cache: read.status, attachments: [], history: [], problems: [] };
  if (read.status === 'corrupt') view.reason = read.reason;
  if (read.status === 'ok') {
    const c = read.cache;
    Object.assign(view, { pod: podOf(c), netns: c.netns, ifname: c.ifname, cniVersion: c.cniVersion, ...(c.networks !== undefined ? { networks: c.networks } : {}) });
    view.attachments = c.attachments.map(attachmentView);
    view.history = c.history ?? [];
  }
  if (holder) view.lock = { ...holder, stale: !holder.alive };
  view.problems = problemsOf(view);
  return view;
}
