import { PROTOCOL_VERSION, type ErrorReply, type NadName, type ReportReply, type ResolveReply } from '../agent/protocol';
import { CniError, ErrorCode } from '../cni/errors';
import type { BraidConfig } from '../config/braid-config';
import type { PodRef } from '../k8s/pod';
import type { StatusWriter } from '../k8s/status-writer';
import { log } from '../log';
import { elapsedMs, startTimer } from '../timing';
import { AgentConnection, AgentUnavailable } from './agent-client';
import { openDirectSource, type AgentAsk, type InputSource } from './source';

/**
 * How long braid waits for the agent to connect and answer resolve. A cache hit costs the agent well
 * under a millisecond of CPU, but the bound is wall time, in a node starting dozens of pods at once: then
 * the agent and braid share the CPU with every other exec, and 1 s proved too short (50 ADDs at once on
 * 2 loaded cores). Falling back then would cost each ADD the direct path's TLS and API reads exactly
 * when the node is busiest. 3 s is still small against the runtime's CNI timeout (minutes), and is what
 * a hung agent costs an ADD before the direct path takes over (its probes restart it).
 */
export const RESOLVE_BOUND_MS = 3000;

const nadKey = (n: NadName) => `${n.namespace}/${n.name}`;

/**
 * The agent as an InputSource: one resolve request (pod, NADs, devices) sent at once, report on the same
 * connection. Whenever the agent does not answer usably (no socket, refused, timeout, protocol version,
 * an agent that died mid-request), the rest of the ADD takes the direct path, and the log says why.
 */
export function agentSource(config: BraidConfig, ref: PodRef, { nads: refs, podKnown }: AgentAsk): InputSource {
  const pod = { namespace: ref.namespace, name: ref.name, uid: ref.uid };
  let direct: Promise<InputSource> | undefined;
  const fallBack = (why: string, level: 'warning' | 'verbose' = 'warning'): Promise<InputSource> => {
    if (!direct) {
      log(level, `agent: ${why}; using the direct path`);
      direct = openDirectSource(config, true);
    }
    return direct;
  };
  const conn = AgentConnection.open(config.agentSocket, RESOLVE_BOUND_MS);
  conn.catch(() => undefined); // a refused connect is handled where it is awaited
  const started = Date.now();

  // One request on the held connection; undefined (after falling back) when the agent is unusable.
  async function ask<T>(req: Parameters<AgentConnection['request']>[0], timeoutMs: number): Promise<T | undefined> {
    let reply: T | ErrorReply;
    const sent = startTimer();
    try {
      reply = await (await conn).request<T>(req, timeoutMs);
      log('verbose', 'agent round trip', () => ({ op: req.op, ok: (reply as ErrorReply).ok !== false, durationMs: elapsedMs(sent) }));
    } catch (e) {
      if (!(e instanceof AgentUnavailable)) throw e;
      await fallBack(e.message, e.noAgent ? 'verbose' : 'warning'); // a node without an agent is normal
      return undefined;
    }
    if ((reply as ErrorReply).ok === false) {
      const err = reply as ErrorReply;
      if (req.op === 'report') throw new CniError(err.code, err.error); // the PATCH itself failed, as it would directly
      await fallBack(`the agent could not ${req.op}: ${err.error}`);
      return undefined;
    }
    return reply as T;
  }

  const resolveBound = () => Math.max(1, RESOLVE_BOUND_MS - (Date.now() - started));
  const snapshot = ask<ResolveReply>({ v: PROTOCOL_VERSION, op: 'resolve', pod, nads: refs, podKnown }, resolveBound());
  const status: StatusWriter = {
    async writeStatus(target, annotations, events) {
      const report = { v: PROTOCOL_VERSION, op: 'report' as const, pod: { ...pod, uid: target.uid ?? '' }, annotations, eventUid: target.eventUid, events };
      // The reply waits for the PATCH, retries included: bounded by kubeTimeout, plus a second.
      const reply = direct ? undefined : await ask<ReportReply>(report, config.kubeTimeout * 1000 + 1000);
      if (reply) return { written: reply.written, events: Promise.resolve() };
      return (await direct!).status!.writeStatus(target, annotations, events);
    },
  };
  return {
    pods: {
      async getPod(namespace, name) {
        const s = await snapshot;
        return s ? s.pod : (await direct!).pods!.getPod(namespace, name);
      },
    },
    nads: {
      async getNad(namespace, name) {
        const s = await snapshot;
        const hit = s?.nads.find((n) => nadKey(n) === `${namespace}/${name}`);
        if (hit) return hit.nad && { ...hit.nad, via: 'agent' }; // no nad: the agent knows it does not exist
        // A NAD the prefetch did not cover (none should be): asked on the same connection.
        const more = s && await ask<ResolveReply>({ v: PROTOCOL_VERSION, op: 'resolve', pod, nads: [{ namespace, name }], podKnown: true }, RESOLVE_BOUND_MS);
        const found = more?.nads.find((n) => nadKey(n) === `${namespace}/${name}`);
        if (found) return found.nad && { ...found.nad, via: 'agent' };
        return (await fallBack(`the agent did not answer for NAD ${namespace}/${name}`)).nads!.getNad(namespace, name);
      },
    },
    async podDevices(key) {
      const s = await snapshot;
      if (s?.devices) return new Map(Object.entries(s.devices));
      if (s?.devicesError) throw new CniError(ErrorCode.TryAgainLater, s.devicesError);
      return (await (direct ?? fallBack('the agent sent no device IDs'))).podDevices(key);
    },
    status,
  };
}
