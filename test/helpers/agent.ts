import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { onTestFinished } from 'vitest';
import { BRAID } from './braid';

/** A free TCP port on 127.0.0.1 (bound, then released). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** GET on the agent's operations endpoint: status and body. */
export function httpGet(port: number, p: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: p, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

/** A `braid agent` process started by a test. */
export interface AgentProcess {
  child: ChildProcess;
  /** Its unix socket. */
  socket: string;
  /** The config file it was started with. */
  configFile: string;
  /** Writes the config file (for an agent started with configLater). */
  writeConfig(): void;
  /** Port of /healthz, /readyz and /metrics on 127.0.0.1. */
  port: number;
  /** What it wrote to stderr so far. */
  stderr(): string;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string>;
  /** Waits until /readyz answers 200 (caches synced). */
  ready(timeoutMs?: number): Promise<void>;
  /** Sends a signal to it (by PID). */
  signal(sig: NodeJS.Signals): void;
}

/**
 * Starts `dist/braid agent` for `config` (written to `<dir>/agent.conflist`, unless `configLater`: then
 * by writeConfig()) as node `nodeName`, with its socket at config.agentSocket; killed by PID when the
 * test finishes if it is still running.
 */
export async function startAgentProcess(dir: string, config: Record<string, unknown>, nodeName: string, opts: { configLater?: boolean } = {}): Promise<AgentProcess> {
  const configFile = path.join(dir, 'agent.conflist');
  const writeConfig = () => fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
  if (!opts.configLater) writeConfig();
  const port = await freePort();
  const child = spawn(BRAID, ['agent', '--config', configFile, '--node-name', nodeName, '--metrics-address', `127.0.0.1:${port}`], {
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, sig) => resolve(code ?? sig ?? -1)));
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  const agent: AgentProcess = {
    child, socket: String(config.agentSocket), configFile, port, exited, writeConfig,
    stderr: () => stderr,
    signal: (sig) => { process.kill(child.pid!, sig); },
    async ready(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`braid agent exited: ${stderr}`);
        const r = await httpGet(port, '/readyz').catch(() => undefined);
        if (r?.status === 200) return;
        if (Date.now() > deadline) throw new Error(`braid agent not ready after ${timeoutMs} ms: ${stderr}`);
        await new Promise((res) => setTimeout(res, 50));
      }
    },
  };
  return agent;
}

/** One request on the agent's socket (protocol v1), answered by one line; for tests that look into its cache. */
export function askAgent(socket: string, req: Record<string, unknown>): Promise<any> {
  return new Promise((resolve, reject) => {
    const c = net.createConnection(socket);
    let text = '';
    c.setEncoding('utf8');
    c.on('data', (d: string) => {
      text += d;
      if (!text.includes('\n')) return;
      c.destroy();
      resolve(JSON.parse(text.slice(0, text.indexOf('\n'))));
    });
    c.on('error', reject);
    c.write(`${JSON.stringify({ v: 1, ...req })}\n`);
  });
}

/** The value of one sample of the agent's /metrics (`name{labels}`), or undefined when absent. */
export async function metric(port: number, sample: string): Promise<number | undefined> {
  const { body } = await httpGet(port, '/metrics');
  const line = body.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? undefined : Number(line.slice(sample.length + 1));
}
