import type { CachedAttachment } from '../store/cache';
import type { Attachment, PlanInput, Selection } from './plan';

/** How a running pod's secondary networks must change to match its current selection. */
export interface NetworkDiff {
  /** The plan input with every secondary's interface name fixed: kept ones keep theirs, new ones get one. */
  input: PlanInput;
  /** Cached attachments the pod no longer selects (or that a crash left half-added), to DEL last first. */
  removed: CachedAttachment[];
  /** "network ifname" keys of the cached attachments that stay as they are. */
  kept: Set<string>;
}

/** The identity of an attachment across reconciles: its network and interface name. */
export function attachmentKey(att: Pick<Attachment, 'network' | 'ifname'>): string {
  return `${att.network} ${att.ifname}`;
}

function networkOf(sel: Selection): string {
  return sel.network ?? sel.config.name;
}

/**
 * Matches the newly resolved selections against a running pod's cached attachments by (network, interface
 * name). A selection that names its interface matches only that interface; one that does not takes the
 * first unmatched attachment of its network. Unmatched selections get their requested name or the lowest
 * free `netN`; existing interfaces are never renamed. The cluster network is never part of the diff.
 */
export function diffNetworks(cached: CachedAttachment[], input: PlanInput): NetworkDiff {
  const candidates = cached.filter((a) => !a.clusterNetwork && a.state === 'added');
  const taken = new Set<CachedAttachment>();
  const pinned: Array<string | undefined> = input.secondaries.map((sel) => {
    const wanted = sel.request?.interface;
    if (wanted === undefined) return undefined;
    const match = candidates.find((a) => !taken.has(a) && a.network === networkOf(sel) && a.ifname === wanted);
    if (match) taken.add(match);
    return match?.ifname;
  });
  input.secondaries.forEach((sel, i) => {
    if (pinned[i] !== undefined || sel.request?.interface !== undefined) return;
    const match = candidates.find((a) => !taken.has(a) && a.network === networkOf(sel));
    if (match) {
      taken.add(match);
      pinned[i] = match.ifname;
    }
  });
  const used = new Set<string>([input.ifname, ...[...taken].map((a) => a.ifname), ...input.secondaries.flatMap((s, i) => (pinned[i] === undefined && s.request?.interface ? [s.request.interface] : []))]);
  const freeName = (): string => {
    let n = 1;
    while (used.has(`net${n}`)) n++;
    used.add(`net${n}`);
    return `net${n}`;
  };
  const secondaries = input.secondaries.map((sel, i) => ({ ...sel, ifname: pinned[i] ?? sel.request?.interface ?? freeName() }));
  // Anything not kept goes, a 'planned' leftover of a crashed reconcile included (its DEL is safe to repeat).
  const removed = cached.filter((a) => !a.clusterNetwork && a.state !== 'deleted' && !taken.has(a));
  return { input: { ...input, secondaries }, removed, kept: new Set([...taken].map(attachmentKey)) };
}
