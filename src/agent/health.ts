import http = require('node:http');
import type { Registry } from 'prom-client';

/** Where and what the operations endpoint serves. */
export interface HealthOptions {
  host: string;
  port: number;
  /** True once the caches have synced. */
  ready: () => boolean;
  registry: Registry;
}

/** Serves /healthz (the process answers), /readyz (caches synced: 200, else 503) and /metrics (Prometheus). */
export async function serveHealth(opts: HealthOptions): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'Content-Type': type });
      res.end(body);
    };
    if (path === '/healthz') return send(200, 'ok\n');
    if (path === '/readyz') return opts.ready() ? send(200, 'ok\n') : send(503, 'caches not synced\n');
    if (path === '/metrics') {
      opts.registry.metrics().then((text) => send(200, text, opts.registry.contentType), (e: Error) => send(500, `${e.message}\n`));
      return;
    }
    send(404, 'not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return server;
}
