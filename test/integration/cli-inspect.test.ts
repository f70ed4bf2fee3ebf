import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBraidTool } from '../helpers/braid';
import { failed, ok } from '../helpers/cni';
import { subnetAllocator } from '../helpers/host';
import { PodNode } from '../helpers/pod-node';

// `braid inspect` reads what braid left in cniDir: after a real ADD, after a DEL that failed half way
// (retryDeleteOnError keeps what is still standing), on a corrupt cache and with a lock whose holder died.
// Address range of this file: 10.250.174.0/24 … 10.250.177.0/24.

const nextSubnet = subnetAllocator(174, 4);

function node(braid: Record<string, unknown> = {}): PodNode {
  return new PodNode({ pod: nextSubnet(), macvlan: nextSubnet(), ptp: nextSubnet() }, braid);
}

/** This process's lock token ("<pid> <start time>"), as braid writes it for a running holder. */
function liveToken(): string {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  return `${process.pid} ${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]}`;
}

describe('braid inspect', () => {
  it('after ADD: the container with its pod, every attachment added with its interface and IPs, and its result', () => {
    const n = node();
    ok(n.add(n.pod('macvlan-gw@data, ptp-b')));
    try {
      const r = n.tool(['inspect', '--config', n.configFile, n.containerID]);
      expect(r.status, r.stdout + r.stderr).toBe(0);
      const v = r.json;
      expect(v).toMatchObject({ containerID: n.containerID, cache: 'ok', pod: `default/${n.name}`, netns: n.netns, ifname: 'eth0', problems: [] });
      expect(v.attachments.map((a: any) => [a.ifname, a.network, a.state])).toEqual([
        ['eth0', 'podnet', 'added'], ['data', 'default/macvlan-gw', 'added'], ['net2', 'default/ptp-b', 'added'],
      ]);
      const ipsOf = (ifname: string) => v.attachments.find((a: any) => a.ifname === ifname).ips;
      expect(ipsOf('eth0')).toEqual([expect.stringMatching(new RegExp(`^${n.subnets.pod.host4(0).replace(/\.0$/, '')}\\.\\d+/24$`))]);
      expect(ipsOf('data')[0]).toMatch(/^10\.250\.\d+\.\d+\/24$/);
      expect(v.attachments[1].interfaces).toContainEqual(expect.objectContaining({ name: 'data', sandbox: n.netns }));
      expect(v.attachments[1].result).toEqual(n.cache().attachments[1].result);

      const list = n.tool(['inspect', '--config', n.configFile]);
      expect(list.status).toBe(0);
      expect(list.json.containers).toEqual([expect.objectContaining({ containerID: n.containerID, pod: `default/${n.name}`, cache: 'ok' })]);
      const text = runBraidTool(['inspect', '--config', n.configFile]);
      expect(text.stdout).toMatch(new RegExp(`^${n.containerID}\\s+default/${n.name}\\s+ok\\s+eth0,data,net2\\s+-`, 'm'));
      const one = runBraidTool(['inspect', '--config', n.configFile, n.containerID]);
      expect(one.stdout).toMatch(/^\s+data\s+default\/macvlan-gw\s+added\s+secondary\s+10\.250\.\d+\.\d+\/24\s+data=[0-9a-f:]{17}/m);
    } finally {
      ok(n.del());
    }
    const after = n.tool(['inspect', '--config', n.configFile, n.containerID]);
    expect(after.status, 'DEL removed the cache').toBe(1);
    expect(after.json.cache).toBe('missing');
  });

  it('after a partial DEL (retryDeleteOnError, a failing delegate): what was deleted, what is still standing, and the unfinished DEL flagged', () => {
    const n = node({ retryDeleteOnError: true });
    n.nad('stuck', { cniVersion: '1.0.0', type: 'fake', ip: '10.250.177.9/24', fail: ['DEL'] });
    ok(n.add(n.pod('ptp-b, stuck')));
    failed(n.del(), 100);
    const r = n.tool(['inspect', '--config', n.configFile, n.containerID]);
    expect(r.status).toBe(1);
    expect(r.json.attachments.map((a: any) => [a.ifname, a.state])).toEqual([['eth0', 'deleted'], ['net1', 'deleted'], ['net2', 'added']]);
    expect(r.json.attachments[2].ips).toEqual(['10.250.177.9/24']);
    expect(r.json.problems).toEqual([expect.stringContaining('unfinished DEL: net2 (default/stuck) still to delete')]);
    const text = runBraidTool(['inspect', '--config', n.configFile, n.containerID]).stdout;
    expect(text).toMatch(/^\s+net2\s+default\/stuck\s+added\s+secondary\s+10\.250\.177\.9\/24/m);
    expect(text).toMatch(/^\s+eth0\s+podnet\s+deleted/m);
    // the delegate recovers (its config lives in the cache DEL works from); the runtime's retry finishes,
    // and inspect has nothing left to show
    const cache = n.cache();
    cache.attachments[2].config.plugins[0].fail = [];
    fs.writeFileSync(path.join(n.sb.cniDir, n.containerID), JSON.stringify(cache));
    ok(n.del());
    expect(n.tool(['inspect', '--config', n.configFile]).json.containers).toEqual([]);
  });

  it('flags a corrupt cache and a lock whose holder is gone, and tells a running holder from a dead one', () => {
    const n = node();
    fs.mkdirSync(path.join(n.sb.cniDir, 'locks'), { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(n.sb.cniDir, 'broken-1'), '{"kind": "braidCacheV1", "containerID": "broken-1", "attachm');
    fs.writeFileSync(path.join(n.sb.cniDir, 'locks', 'orphan-2.lock'), '4194000 12345'); // a PID and start time nobody has
    fs.writeFileSync(path.join(n.sb.cniDir, 'locks', 'busy-3.lock'), liveToken());
    const r = n.tool(['inspect', '--config', n.configFile]);
    expect(r.status).toBe(1);
    const byId = Object.fromEntries(r.json.containers.map((c: any) => [c.containerID, c]));
    expect(Object.keys(byId).sort()).toEqual(['broken-1', 'busy-3', 'orphan-2']);
    expect(byId['broken-1']).toMatchObject({ cache: 'corrupt', reason: expect.stringMatching(/^invalid JSON/), problems: [expect.stringMatching(/^corrupt cache: invalid JSON/)] });
    expect(byId['orphan-2']).toMatchObject({ cache: 'missing', lock: { token: '4194000 12345', alive: false, stale: true }, problems: [expect.stringContaining('lock held by a holder that is gone')] });
    expect(byId['busy-3']).toMatchObject({ lock: { alive: true, stale: false }, problems: [] });
    const text = runBraidTool(['inspect', '--config', n.configFile]).stdout;
    expect(text).toMatch(/^broken-1\s+-\s+corrupt\s+-\s+-\s+corrupt cache/m);
    expect(text).toMatch(/^orphan-2\s+-\s+missing\s+-\s+stale\s+lock held by a holder that is gone/m);
    const one = runBraidTool(['inspect', '--config', n.configFile, 'broken-1']);
    expect(one.status).toBe(1);
    expect(one.stdout).toContain('container broken-1: cache corrupt');
    expect(one.stdout).toContain('! corrupt cache: invalid JSON');
  });

  it('an unknown container exits 1 naming it; usage errors exit 2; --help exits 0', () => {
    const n = node();
    const r = runBraidTool(['inspect', '--config', n.configFile, 'nope-1']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`no cache for container nope-1 in ${n.sb.cniDir}`);
    expect(runBraidTool(['inspect']).status).toBe(2);
    expect(runBraidTool(['inspect', '--config', n.configFile, 'a', 'b']).status).toBe(2);
    expect(runBraidTool(['inspect', '--help']).stdout).toContain('Usage: braid inspect');
  });
});
