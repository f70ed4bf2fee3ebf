import { CniError, ErrorCode } from '../cni/errors';
import { ipFamily } from '../cni/ip';
import { netnsAddon } from '../native/netns-addon';
import type { DefaultRouteChange } from '../plan/default-route';

const AF = { '4': 2, '6': 10 } as const;
const MAIN_TABLE = 254;
const NLM_F_CREATE_EXCL = 0x400 | 0x200;

function ipBytes(ip: string): Buffer {
  if (ipFamily(ip) === '4') return Buffer.from(ip.split('.').map(Number));
  const [head, tail = ''] = ip.split('::');
  // Hex groups, with an embedded IPv4 tail ("::ffff:10.1.2.3") counted as two.
  const words = (s: string) => (s ? s.split(':').flatMap((w) => (w.includes('.') ? [...ipBytes(w)].reduce<number[]>((acc, b, i) => (i % 2 ? [...acc.slice(0, -1), acc[acc.length - 1] * 256 + b] : [...acc, b]), []) : [parseInt(w, 16)])) : []);
  const h = words(head);
  const t = words(tail);
  const all = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill(0), ...t] : h;
  const out = Buffer.alloc(16);
  all.forEach((w, i) => out.writeUInt16BE(w, i * 2));
  return out;
}

// Textual form of a gateway netlink reported (IPv6 with its longest zero run compressed).
function ipText(bytes: Buffer): string {
  if (bytes.length === 4) return [...bytes].join('.');
  const groups = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2).toString(16));
  const zeros = groups.join(':').match(/(?:^|:)0(?::0)+(?::|$)/g) ?? [];
  const longest = zeros.sort((a, b) => b.length - a.length)[0];
  return longest ? groups.join(':').replace(longest, '::') : groups.join(':');
}

/** A default route an owner's route replaced: its interface and gateway, to restore when the owner goes. */
export interface DisplacedRoute { ifname: string; gateway: string }

/**
 * Applies default-route changes inside the pod netns over netlink (socket created in the netns by the
 * native helper): for each family with a new owner, every default route of that family in the main
 * table goes, then `default via gw dev <owner>` is added; interfaces that must carry no default route
 * lose theirs. IPv4 and IPv6 are handled independently. Returns the gateway routes an owner displaced.
 */
export async function applyDefaultRoutes(netns: string, change: DefaultRouteChange): Promise<DisplacedRoute[]> {
  const [{ createRtNetlink }, netlinkBinding] = await Promise.all([import('netlink/dist/rt/rt.js'), import('../native/netlink-binding')]);
  // dlopen() netlink's addon here, in braid's own netns, not on first use inside runInNetns: a thread
  // started while the calling thread is in the pod's netns would stay there.
  netlinkBinding.load();
  const rt = netnsAddon().runInNetns(netns, () => createRtNetlink());
  try {
    const links = await rt.getLinks();
    const index = (ifname: string) => {
      const link = links.find((l) => l.attrs.ifname === ifname);
      if (!link?.data.index) throw new CniError(ErrorCode.IoFailure, `default-route: interface ${ifname} not found in netns ${netns}`);
      return link.data.index;
    };
    // An interface that is not there has no default route to lose.
    const clearedOifs = new Set(links.filter((l) => change.cleared.includes(l.attrs.ifname ?? '')).map((l) => l.data.index));
    const displaced: DisplacedRoute[] = [];
    const nameOf = (oif: number | undefined) => links.find((l) => l.data.index === oif)?.attrs.ifname;
    for (const family of ['4', '6'] as const) {
      const owners = change.owners.filter((o) => ipFamily(o.gateway) === family);
      const routes = await rt.getRoutes({ family: AF[family] });
      const defaults = routes.filter((r) => r.data.dstLen === 0 && (r.attrs.table ?? r.data.table) === MAIN_TABLE && r.data.type === 'UNICAST');
      for (const r of defaults) {
        if (owners.length === 0 && !(r.attrs.oif !== undefined && clearedOifs.has(r.attrs.oif))) continue;
        await rt.delRoute(r.data, r.attrs);
        const ifname = nameOf(r.attrs.oif);
        const gateway = r.attrs.gateway && ipText(r.attrs.gateway);
        if (owners.length > 0 && ifname && gateway && !change.cleared.includes(ifname) && !owners.some((o) => o.ifname === ifname && o.gateway === gateway)) displaced.push({ ifname, gateway });
      }
      for (const owner of owners) {
        await rt.newRoute(
          { family: AF[family], dstLen: 0, table: MAIN_TABLE, protocol: 'BOOT', scope: 'UNIVERSE', type: 'UNICAST' },
          { gateway: ipBytes(owner.gateway), oif: index(owner.ifname) },
          { flags: NLM_F_CREATE_EXCL },
        );
      }
    }
    return displaced;
  } catch (e) {
    if (e instanceof CniError) throw e;
    throw new CniError(ErrorCode.IoFailure, `default-route in netns ${netns}: ${(e as Error).message}`);
  } finally {
    rt.socket.close();
  }
}
