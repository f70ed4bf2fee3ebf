// Starts `braid agent` for the bench and tells whether this build has one.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { BRAID, env } from './world.mjs';

/** True when this build has the `braid agent` subcommand. */
export function hasAgent() {
  const r = spawnSync(BRAID, ['agent', '--help'], { env, encoding: 'utf8' });
  return r.status === 0 && /braid agent/.test(r.stdout + r.stderr);
}

/** A free TCP port on 127.0.0.1 (bound, then released). */
export async function freePort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

const readyz = (port) => new Promise((resolve) => {
  http.get({ host: '127.0.0.1', port, path: '/readyz', agent: false }, (res) => { res.resume(); resolve(res.statusCode); }).on('error', () => resolve(0));
});

/** Starts the agent for `config` (its socket at config.agentSocket) as node `nodeName`, waits until ready; killed by PID at cleanup. */
export async function startBenchAgent(w, config, nodeName) {
  const configFile = path.join(w.state, 'agent.conflist');
  fs.writeFileSync(configFile, JSON.stringify(config));
  const port = await freePort();
  const child = spawn(BRAID, ['agent', '--config', configFile, '--node-name', nodeName, '--metrics-address', `127.0.0.1:${port}`], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  w.onCleanup(() => { if (child.exitCode === null) process.kill(child.pid, 'SIGKILL'); });
  const deadline = Date.now() + 30_000;
  while ((await readyz(port)) !== 200) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`braid agent did not become ready: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { pid: child.pid, stderr: () => stderr };
}
