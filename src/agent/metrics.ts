import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Lister } from './store';

/** The agent's Prometheus metrics (prom-client), on their own registry. */
export class AgentMetrics {
  readonly registry = new Registry();
  /** Requests answered, by op and outcome (ok, error). */
  readonly requests = new Counter({ name: 'braid_agent_requests_total', help: 'Socket requests answered, by op and outcome', labelNames: ['op', 'outcome'], registers: [this.registry] });
  /**
   * Requests after which braid took the direct path, by reason the agent can see: an error answer, a
   * protocol version it does not speak, a client that gave up before the answer (timeout). braid's own
   * log names every fallback, including those where no agent was there to count them.
   */
  readonly fallbacks = new Counter({ name: 'braid_agent_fallbacks_total', help: 'Requests after which braid fell back to its direct path, by reason', labelNames: ['reason'], registers: [this.registry] });
  /** Cache misses answered with a live GET, by kind (pod, pod-uid, nad). */
  readonly misses = new Counter({ name: 'braid_agent_cache_misses_total', help: 'Cache misses answered with a live API GET, by kind', labelNames: ['kind'], registers: [this.registry] });
  /** Watch restarts, by resource and reason (closed, expired, error). */
  readonly watchRestarts = new Counter({ name: 'braid_agent_watch_restarts_total', help: 'Watch restarts, by resource and reason', labelNames: ['resource', 'reason'], registers: [this.registry] });
  /** Request latency, by op. */
  readonly latency = new Histogram({
    name: 'braid_agent_request_duration_seconds', help: 'Time to answer a socket request, by op', labelNames: ['op'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [this.registry],
  });

  constructor(caches: Record<string, Lister<unknown>>) {
    new Gauge({
      name: 'braid_agent_cache_objects', help: 'Objects in the watch caches, by kind', labelNames: ['kind'], registers: [this.registry],
      collect() {
        for (const [kind, lister] of Object.entries(caches)) this.set({ kind }, lister.size);
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'braid_agent_' });
  }
}
