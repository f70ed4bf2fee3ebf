import type { ContainerView } from './inspect-view';
import { table } from './table';

// Each section renders one part of a container's view; a new part of the cache gets a section of its own.
type Section = (v: ContainerView) => string[];

const header: Section = (v) => [
  `container ${v.containerID}${v.pod ? ` (pod ${v.pod})` : ''}: cache ${v.cache}`,
  ...(v.cache === 'ok' ? [`  netns ${v.netns || '-'}, CNI_IFNAME ${v.ifname}, cniVersion ${v.cniVersion}`] : []),
  ...(v.networks !== undefined ? [`  networks annotation: ${v.networks || '(none)'}`] : []),
];

const lock: Section = (v) => (v.lock ? [`  lock: held by ${v.lock.token ? `pid ${v.lock.token.split(' ')[0]}` : 'a holder that has not written its pid'}, ${v.lock.alive ? 'running' : 'gone'}`] : []);

const problems: Section = (v) => v.problems.map((p) => `  ! ${p}`);

const attachments: Section = (v) => {
  if (v.attachments.length === 0) return [];
  const rows = v.attachments.map((a) => [
    a.ifname, a.network, a.state, a.clusterNetwork ? 'cluster' : 'secondary',
    a.ips.join(',') || '-', a.interfaces.map((i) => `${i.name}${i.mac ? `=${i.mac}` : ''}`).join(',') || '-', a.deviceID ?? '-',
  ]);
  return ['', ...table(['IFNAME', 'NETWORK', 'STATE', 'ROLE', 'IPS', 'INTERFACES', 'DEVICE'], rows).map((l) => `  ${l}`)];
};

const history: Section = (v) => (v.history.length === 0 ? [] : [
  '', '  history:', ...v.history.map((h) => `    ${h.time} ${h.action} ${h.ifname} (${h.network})${h.error ? `: ${h.error}` : ''}`),
]);

const results: Section = (v) => v.attachments.flatMap((a) => (a.result || a.resultError
  ? ['', `  result of ${a.ifname} (${a.network}):`, ...(a.resultError ? [`    unreadable: ${a.resultError}`] : []),
    ...(a.result ? JSON.stringify(a.result, null, 2).split('\n').map((l) => `    ${l}`) : [])]
  : []));

const SECTIONS: Section[] = [header, lock, problems, attachments, history, results];

/** The text of `braid inspect ID`. */
export function renderContainer(v: ContainerView): string {
  return `${SECTIONS.flatMap((s) => s(v)).join('\n')}\n`;
}

/** The text of `braid inspect`: one row per container braid holds. */
export function renderList(views: ContainerView[]): string {
  if (views.length === 0) return 'no containers in the cache\n';
  const rows = views.map((v) => [
    v.containerID, v.pod ?? '-', v.cache,
    v.attachments.map((a) => `${a.ifname}${a.state === 'added' ? '' : `(${a.state})`}`).join(',') || '-',
    v.lock ? (v.lock.alive ? 'held' : 'stale') : '-',
    v.problems.length > 0 ? v.problems.join('; ') : '',
  ]);
  return `${table(['CONTAINER', 'POD', 'CACHE', 'ATTACHMENTS', 'LOCK', 'PROBLEMS'], rows).join('\n')}\n`;
}
