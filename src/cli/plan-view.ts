import { ipFamily } from '../cni/ip';
import { pluginRequest } from '../delegate/invoke';
import type { DefaultRouteChange } from '../plan/default-route';
import { undeclaredWarning, type Attachment } from '../plan/plan';
import { table } from './table';

/** One attachment as `braid plan` shows it: the planner's attachment, each delegate's stdin and the route decision. */
export interface PlannedAttachment extends Attachment {
  /** The JSON each plugin of the network receives on ADD, in order (a chained plugin also gets the previous one's result as prevResult). */
  delegates: Record<string, unknown>[];
  /** What happens to this interface's default routes after every delegate ran. */
  defaultRouteDecision: string;
}

/** What `braid plan` prints. */
export interface PlanView {
  pod: { namespace: string; name: string };
  containerID: string;
  attachments: PlannedAttachment[];
  warnings: string[];
}

const FAMILY = { '4': 'IPv4', '6': 'IPv6' } as const;

/** The default-route decision for one attachment, in words. */
export function routeDecision(att: Pick<Attachment, 'ifname'>, change: DefaultRouteChange | undefined): string {
  if (!change) return 'as the delegates set it (no default-route request)';
  const parts: string[] = [];
  for (const family of ['4', '6'] as const) {
    const owner = change.owners.find((o) => ipFamily(o.gateway) === family);
    if (owner?.ifname === att.ifname) parts.push(`${FAMILY[family]} default via ${owner.gateway} (default-route)`);
    else if (owner) parts.push(`${FAMILY[family]} default removed (${owner.ifname} owns it)`);
    else if (change.cleared.includes(att.ifname)) parts.push(`${FAMILY[family]} default removed (default-route: [])`);
  }
  return parts.length > 0 ? parts.join('; ') : 'as the delegates set it';
}

/** The view of a plan: delegate requests built by the same function ADD uses, warnings as ADD logs them. */
export function planView(pod: PlanView['pod'], containerID: string, plan: Attachment[], change: DefaultRouteChange | undefined, warnings: string[]): PlanView {
  return {
    pod,
    containerID,
    attachments: plan.map((att) => ({
      ...att,
      delegates: att.config.plugins.map((p) => pluginRequest(att.config, p, att.runtimeConfig)),
      defaultRouteDecision: routeDecision(att, change),
    })),
    warnings: [...plan.flatMap((att) => (att.undeclared ?? []).map((key) => undeclaredWarning(att.network, key))), ...warnings],
  };
}

function indent(text: string, by: string): string {
  return text.split('\n').map((l) => `${by}${l}`).join('\n');
}

/** The human rendering: a table of the attachments, then each attachment's details. */
export function renderPlan(view: PlanView): string {
  const rows = view.attachments.map((a, i) => [String(i + 1), a.ifname, a.network, a.clusterNetwork ? 'cluster' : 'secondary', a.deviceID ?? '-', a.defaultRouteDecision]);
  const out = [`pod ${view.pod.namespace}/${view.pod.name}, container ${view.containerID}`, '', ...table(['#', 'INTERFACE', 'NETWORK', 'ROLE', 'DEVICE', 'DEFAULT ROUTE'], rows), ''];
  for (const [i, a] of view.attachments.entries()) {
    out.push(`${i + 1}. ${a.ifname} <- ${a.network}`);
    out.push(`   CNI_IFNAME=${a.ifname}`, `   CNI_ARGS=${a.cniArgs}`);
    if (a.resourceName) out.push(`   resource ${a.resourceName}: device ${a.deviceID}${a.deviceInfoFile ? `, device-info ${a.deviceInfoFile}` : ''}`);
    a.delegates.forEach((d, j) => {
      out.push(`   delegate ${j + 1}/${a.delegates.length} (${String(d.type)}) stdin${j > 0 ? ' (plus prevResult)' : ''}:`);
      out.push(indent(JSON.stringify(d, null, 2), '     '));
    });
    out.push('');
  }
  if (view.warnings.length > 0) out.push('warnings:', ...view.warnings.map((w) => `  ${w}`), '');
  return out.join('\n');
}
