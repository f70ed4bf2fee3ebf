import { expect } from 'vitest';
import type { ApiServer } from './apiserver.mjs';
import { runBraidAsync, type BraidOutcome } from './braid';
import { braidConf } from './cni';
import { hostOf, sandbox, type Sandbox } from './host';

// The world of the log tests (logs*.test.ts): one pod's sandbox on the test kube-apiserver, and readers
// of braid's text and JSON log lines.

/** One pod's sandbox: netns, bridge cluster network, kubeconfig with the server's token, CNI_ARGS naming the pod. */
export interface World {
  sb: Sandbox;
  netns: string;
  containerID: string;
  pod: string;
  args: string;
  conf(extra?: Record<string, unknown>): Record<string, unknown>;
  run(command: string, config: Record<string, unknown>): Promise<BraidOutcome>;
  /** A macvlan+host-local config on a fresh veth parent, with more plugins chained after it. */
  macvlan(name: string, macvlanExtra?: Record<string, unknown>, chained?: Record<string, unknown>[]): Record<string, unknown>;
}

let vethCounter = 0;
/** A fresh World on `api`, its subnets from `nextSubnet`, the pod stored with `annotations`. */
export function logWorld(api: ApiServer, nextSubnet: () => string, annotations: Record<string, string> = {}): World {
  const sb = sandbox();
  const netns = sb.netns();
  const bridge = sb.linkName('br');
  const subnet = nextSubnet();
  const namespace = 'team-logs';
  const name = `pod-${sb.id}`;
  const uid = api.addPod({ metadata: { namespace, name, uid: `uid-${sb.id}`, annotations } }).metadata.uid;
  const containerID = `logs-${sb.id}-0123456789abcdef`;
  const kubeconfig = api.kubeconfig(sb.dir);
  const args = `IgnoreUnknown=1;K8S_POD_NAMESPACE=${namespace};K8S_POD_NAME=${name};K8S_POD_INFRA_CONTAINER_ID=${containerID};K8S_POD_UID=${uid}`;
  return {
    sb, netns, containerID, args, pod: `${namespace}/${name}`,
    conf: (extra = {}) => braidConf(sb, {
      kubeconfig,
      binDir: '/usr/lib/cni',
      delegates: [{
        cniVersion: '1.0.0', name: 'podnet', type: 'bridge', bridge,
        ipam: { type: 'host-local', subnet, dataDir: sb.ipamDir, routes: [{ dst: '0.0.0.0/0', gw: hostOf(subnet, 1) }] },
      }],
      ...extra,
    }),
    run: (command, config) => runBraidAsync({ command, containerID, netns, ifname: 'eth0', args, config, env: { FAKE_LOG: sb.fakeLog } }),
    macvlan: (netName, macvlanExtra = {}, chained = []) => {
      const [parent] = sb.veth(`m${vethCounter++ % 10}`);
      const macvlan = { type: 'macvlan', master: parent, mode: 'bridge', ipam: { type: 'host-local', subnet: nextSubnet(), dataDir: sb.ipamDir }, ...macvlanExtra };
      return { cniVersion: '1.0.0', name: netName, plugins: [macvlan, ...chained] };
    },
  };
}

/** key=value pairs of a text log line (values JSON when quoted or braced). */
export function textFields(line: string): Record<string, any> {
  const out: Record<string, any> = {};
  for (const m of line.matchAll(/ (\w+)=("(?:[^"\\]|\\.)*"|\{.*\}$|\S+)/g)) {
    out[m[1]] = /^["{]/.test(m[2]) ? JSON.parse(m[2]) : m[2];
  }
  return out;
}

/** The text lines whose message is `msg`, as their key=value fields. */
export function entries(stderr: string, msg: string): Array<Record<string, any>> {
  const marker = `: ${msg} `;
  return lines(stderr).filter((l) => l.includes(marker)).map((l) => textFields(l.slice(l.indexOf(marker) + marker.length - 1)));
}

/** The non-empty lines of a log. */
export const lines = (text: string): string[] => text.split('\n').filter(Boolean);

/** Every line of a JSON-format log, parsed; each must be one object with exactly the documented keys. */
export function jsonRecords(text: string): Array<Record<string, any>> {
  return lines(text).map((line) => {
    const rec = JSON.parse(line);
    expect(Object.keys(rec)).toEqual(['time', 'level', 'container', 'pod', 'command', 'msg', 'fields']);
    expect(new Date(rec.time).toISOString()).toBe(rec.time);
    expect(['panic', 'error', 'warning', 'verbose', 'debug']).toContain(rec.level);
    expect(typeof rec.msg).toBe('string');
    expect(typeof rec.fields).toBe('object');
    return rec;
  });
}
