// node packaging/agent-memory.mjs: the memory of `braid agent` (dist/braid) with its caches empty, and
// with 1,000 NADs and 250 pods on its node (plus 250 on other nodes, which it does not watch), against
// the test kube-apiserver. The objects are sized like real ones: pods carry kubectl's
// last-applied-configuration and managedFields, which the agent does not keep.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startApiServer } from '../test/helpers/apiserver.mjs';
import { freePort } from './bench/agent-process.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BRAID = path.join(ROOT, 'dist/braid');
const NODE = 'mem-node';

const get = (port, p) => new Promise((resolve) => {
  http.get({ host: '127.0.0.1', port, path: p, agent: false }, (res) => {
    let body = '';
    res.on('data', (d) => (body += d));
    res.on('end', () => resolve({ status: res.statusCode, body }));
  }).on('error', () => resolve({ status: 0, body: '' }));
});

function fill(api, nads, pods) {
  for (let i = 0; i < nads; i++) {
    const config = { cniVersion: '1.0.0', name: `net-${i}`, type: 'macvlan', master: 'ens1f0', mode: 'bridge', mtu: 9000,
      ipam: { type: 'host-local', ranges: [[{ subnet: `10.${(i >> 8) & 255}.${i & 255}.0/24`, rangeStart: `10.${(i >> 8) & 255}.${i & 255}.10`, rangeEnd: `10.${(i >> 8) & 255}.${i & 255}.250` }]], routes: [{ dst: '192.168.0.0/16' }] } };
    api.addNad(`ns-${i % 50}`, `net-${i}`, config, i % 10 === 0 ? { 'k8s.v1.cni.cncf.io/resourceName': 'intel.com/sriov_netdevice' } : undefined);
  }
  for (let i = 0; i < 2 * pods; i++) {
    const namespace = `ns-${i % 50}`;
    const annotations = {
      'k8s.v1.cni.cncf.io/networks': `net-${i % 1000}, net-${(i + 1) % 1000}`,
      'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `pod-${i}`, namespace }, spec: { containers: [{ name: 'app', image: 'registry.example.com/team/app:1.2.3', env: Array.from({ length: 20 }, (_, j) => ({ name: `VAR_${j}`, value: 'x'.repeat(40) })) }] } }),
    };
    api.addPod({
      metadata: { name: `pod-${i}`, namespace, annotations, labels: { app: 'app', team: 'team' }, managedFields: [{ manager: 'kubectl', operation: 'Update', fieldsV1: { 'f:metadata': { 'f:annotations': {} }, 'f:spec': { 'f:containers': {} } } }] },
      spec: { nodeName: i < pods ? NODE : `other-${i % 7}`, containers: [{ name: 'app', image: 'registry.example.com/team/app:1.2.3', env: Array.from({ length: 20 }, (_, j) => ({ name: `VAR_${j}`, value: 'x'.repeat(40) })) }] },
    });
  }
}

const vm = (pid, key) => Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'))[1]) / 1024;
const sample = (body, name) => Number(body.split('\n').find((l) => l.startsWith(`${name} `))?.split(' ')[1] ?? NaN);

async function measure(nads, pods) {
  const api = await startApiServer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-agent-mem-'));
  try {
    fill(api, nads, pods);
    const config = { cniVersion: '1.0.0', name: 'braid', type: 'braid', kubeconfig: api.kubeconfig(dir), agentSocket: path.join(dir, 'run/agent.sock'), delegates: [{ cniVersion: '1.0.0', name: 'c', type: 'bridge' }] };
    fs.writeFileSync(path.join(dir, 'braid.conf'), JSON.stringify(config));
    const port = await freePort();
    const env = { PATH: process.env.PATH };
    const child = spawn(BRAID, ['agent', '--config', path.join(dir, 'braid.conf'), '--node-name', NODE, '--metrics-address', `127.0.0.1:${port}`], { env, stdio: 'ignore' });
    try {
      while ((await get(port, '/readyz')).status !== 200) await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 3000)); // let start-up garbage be collected
      const { body } = await get(port, '/metrics');
      return {
        rss: vm(child.pid, 'VmRSS'), peak: vm(child.pid, 'VmHWM'),
        heap: sample(body, 'braid_agent_nodejs_heap_size_used_bytes') / 1048576,
        pods: sample(body, 'braid_agent_cache_objects{kind="pods"}'), nads: sample(body, 'braid_agent_cache_objects{kind="nads"}'),
      };
    } finally {
      child.kill('SIGKILL');
    }
  } finally {
    await api.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const rows = [['empty caches', await measure(0, 0)], ['1,000 NADs, 250 pods on the node', await measure(1000, 250)]];
console.log('| caches | pods / NADs cached | RSS MiB | peak RSS MiB | V8 heap used MiB |\n|---|---|---|---|---|');
for (const [name, m] of rows) console.log(`| ${name} | ${m.pods} / ${m.nads} | ${m.rss.toFixed(1)} | ${m.peak.toFixed(1)} | ${m.heap.toFixed(1)} |`);
