import { defaultRouteFamily, ipFamily } from '../cni/ip';
import { parseResult, renderResult } from '../cni/result';
import type { Attachment } from './plan';

/** What the netns must look like after ADD: who owns each family's default route, who must have none. */
export interface DefaultRouteChange {
  /** `default via gateway dev ifname`, at most one per family (buildPlan refuses more). */
  owners: Array<{ ifname: string; gateway: string }>;
  /** Interfaces whose selection said `default-route: []`: they keep no default route of either family. */
  cleared: string[];
}

const DEFAULT_DST = { '4': '0.0.0.0/0', '6': '::/0' } as const;

/**
 * The default-route change a plan asks for, or undefined. `default-route: [gw]` makes that attachment
 * the family's only default route (the cluster network's included, per NAD spec v1.3). braid reads
 * `default-route: []` as "no default route on this interface": unlike Multus (#1011) it leaves the
 * other interfaces' default routes alone.
 */
export function defaultRouteChange(plan: Pick<Attachment, 'ifname' | 'defaultRoute'>[]): DefaultRouteChange | undefined {
  const owners = plan.flatMap((a) => (a.defaultRoute ?? []).map((gateway) => ({ ifname: a.ifname, gateway })));
  const cleared = plan.filter((a) => a.defaultRoute !== undefined && a.defaultRoute.length === 0).map((a) => a.ifname);
  return owners.length > 0 || cleared.length > 0 ? { owners, cleared } : undefined;
}

/** An attachment's ADD result rewritten to the routes the change left in the netns, in the result's own version. */
export function resultAfterChange(att: Pick<Attachment, 'ifname' | 'config'>, raw: Record<string, unknown>, change: DefaultRouteChange): Record<string, unknown> {
  const result = parseResult(raw, att.config.cniVersion);
  // The families whose default routes this attachment lost, however its result spells them ("::0/0", "0/0"…).
  const dropped = new Set<'4' | '6'>();
  for (const family of ['4', '6'] as const) {
    if (change.owners.some((o) => ipFamily(o.gateway) === family) || change.cleared.includes(att.ifname)) dropped.add(family);
  }
  const routes = (result.routes ?? []).filter((r) => {
    const family = defaultRouteFamily(r.dst);
    return family === undefined || !dropped.has(family);
  });
  for (const owner of change.owners.filter((o) => o.ifname === att.ifname)) {
    routes.push({ dst: DEFAULT_DST[ipFamily(owner.gateway)], gw: owner.gateway });
  }
  return renderResult({ ...result, routes }, result.cniVersion);
}
