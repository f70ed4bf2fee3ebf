import fs = require('node:fs');
import type http = require('node:http');
import { CniError, ErrorCode } from '../cni/errors';
import type { BraidConfig } from '../config/braid-config';
import { KubeApi, type NadObject } from '../k8s/api';
import { KubeClient } from '../k8s/client';
import type { PodObject } from '../k8s/pod';
import type { PodResourcesClient } from '../kubelet/podresources';
import { log } from '../log';
import { apiCredentials } from '../resolve/nads';
import type { InputSource } from '../resolve/source';
import { agentInputSource, checkRequest, handleReport, handleResolve, type HandlerDeps } from './handlers';
import { serveHealth } from './health';
import { AgentMetrics } from './metrics';
import { slimNad, slimPod } from './objects';
import type { AgentRequest } from './protocol';
import { Reflector } from './reflector';
import { SocketServer } from './server';
import { Store, type Lister } from './store';
import { watchAgent } from './watch-stream';

/** How often the agent re-reads its credentials (a kubeconfig's tokenFile, the service-account token). */
const TOKEN_REFRESH_MS = 60_000;

/** How the agent was started. */
export interface AgentOptions {
  nodeName: string;
  /** Operations endpoint (/healthz, /readyz, /metrics); port 0 turns it off. */
  metricsHost: string;
  metricsPort: number;
  version: string;
  /** The config's file, re-read by dynamic-network reconciles when it changes. */
  configFile?: string;
}

/** A running agent: its caches (for reconcilers to read and subscribe to) and a graceful stop. */
export interface RunningAgent {
  pods: Lister<PodObject>;
  nads: Lister<NadObject>;
  /** Finishes the requests in flight (at most `graceMs`), removes the socket, ends the watches. */
  stop(graceMs: number): Promise<void>;
}

/** Starts watches of the node's pods and every NAD, the socket server and the operations endpoint. */
export async function startAgent(config: BraidConfig, opts: AgentOptions): Promise<RunningAgent> {
  const creds = await apiCredentials(config);
  if (!creds) throw new CniError(ErrorCode.InvalidConfig, 'braid agent needs the Kubernetes API: set kubeconfig in the config, or run in-cluster');
  const userAgent = `braid-agent/${opts.version}`;
  const client = new KubeClient(creds, { requestTimeoutMs: config.kubeRequestTimeout * 1000, totalTimeoutMs: config.kubeTimeout * 1000, attempts: 5 }, undefined, userAgent);
  const api = new KubeApi(client);
  const pods = new Store<PodObject>();
  const nads = new Store<NadObject>();
  const metrics = new AgentMetrics({ pods, nads });
  const transport = { client, creds, agent: watchAgent(creds), userAgent };
  const restarts = (resource: string) => (reason: string) => metrics.watchRestarts.inc({ resource, reason });
  const reflectors = [
    new Reflector(pods, { transport, resource: 'pods', path: '/api/v1/pods', fieldSelector: `spec.nodeName=${opts.nodeName}`, slim: slimPod, onRestart: restarts('pods') }),
    new Reflector(nads, { transport, resource: 'nads', path: '/apis/k8s.cni.cncf.io/v1/network-attachment-definitions', slim: slimNad, onRestart: restarts('nads') }),
  ];
  const running = reflectors.map((r) => r.run());
  // Bound service-account tokens rotate: the client and the watches read creds.token on every request.
  const refresh = setInterval(() => {
    apiCredentials(config).then((fresh) => {
      if (fresh?.token) creds.token = fresh.token;
    }, (e: Error) => log('warning', `cannot re-read the API credentials: ${e.message}`));
  }, TOKEN_REFRESH_MS);
  refresh.unref();
  let kubelet: PodResourcesClient | undefined;
  const deps: HandlerDeps = { config, pods, nads, api, metrics, kubelet: async () => (kubelet ??= new (await import('../kubelet/podresources')).PodResourcesClient(config.kubeletSocket)) };
  const server = new SocketServer(config.agentSocket, async (req: AgentRequest) => {
    if (req.op !== 'resolve' && req.op !== 'report') throw new CniError(ErrorCode.InvalidConfig, `unknown op ${JSON.stringify((req as { op?: unknown }).op)}`);
    checkRequest(req);
    return req.op === 'resolve' ? handleResolve(deps, req) : handleReport(deps, req);
  }, {
    answered: (op, outcome, seconds) => {
      metrics.requests.inc({ op, outcome });
      metrics.latency.observe({ op }, seconds);
    },
    fallback: (reason) => metrics.fallbacks.inc({ reason }),
  });
  await server.listen();
  // Reconciles run in this process, under the same container locks and with the same building blocks as ADD and DEL.
  const dynamic = config.dynamicNetworks ? await startDynamic(config, opts.configFile, pods, agentInputSource(deps)) : undefined;
  let health: http.Server | undefined;
  if (opts.metricsPort !== 0) {
    health = await serveHealth({ host: opts.metricsHost, port: opts.metricsPort, ready: () => pods.synced && nads.synced, registry: metrics.registry });
  }
  log('warning', `agent serving ${config.agentSocket} for node ${opts.nodeName}${dynamic ? ' (dynamic networks on)' : ''}${health ? `, health and metrics on ${opts.metricsHost}:${opts.metricsPort}` : ''}`);
  return {
    pods,
    nads,
    async stop(graceMs) {
      await server.close(graceMs);
      clearInterval(refresh);
      await dynamic?.stop();
      for (const r of reflectors) r.stop();
      await Promise.allSettled(running);
      health?.close();
      kubelet?.close();
      client.close();
      transport.agent.destroy();
    },
  };
}

// dynamic.ts is loaded only when dynamicNetworks is on. Without braid's cache dir (an agent container
// without the host's cniDir mounted) it could only ever do nothing: say so.
async function startDynamic(config: BraidConfig, file: string | undefined, pods: Lister<PodObject>, source: InputSource): Promise<{ stop(): Promise<void> }> {
  if (!fs.existsSync(config.cniDir)) log('warning', `dynamic networks: cache dir ${config.cniDir} does not exist (yet); a running pod can be reconciled only once braid's cache is there (the agent container needs the host's cniDir, see README "Dynamic networks")`);
  const { configReader, startDynamicNetworks } = await import('./dynamic');
  return startDynamicNetworks(configReader(file, config), pods, source);
}
