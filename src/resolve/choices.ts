import { log, logEnabled } from '../log';
import type { Attachment, Selection } from '../plan/plan';

/**
 * verbose: one line per attachment with its interface, where its config came from and what chose it,
 * so an operator can tell why a pod got (or did not get) a network. `selections` are in plan order.
 */
export function logChoices(plan: Attachment[], selections: Selection[]): void {
  if (!logEnabled('verbose')) return;
  plan.forEach((att, i) => log('verbose', 'network chosen', {
    network: att.network, ifname: att.ifname, from: selections[i].source?.from, by: selections[i].source?.by,
    plugins: att.config.plugins.map((p) => p.type).join(','),
  }));
}
