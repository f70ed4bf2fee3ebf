import type { DNS, Interface, IPConfig, Result, Route } from '../cni/result';

/** Merges attachment results (cluster network first) into one canonical result. */
export function mergeResults(results: Result[], cniVersion: string): Result {
  const interfaces: Interface[] = [];
  const ips: IPConfig[] = [];
  const routes: Route[] = [];
  const routeKeys = new Set<string>();
  const nameservers = new Set<string>();
  const search = new Set<string>();
  const options = new Set<string>();
  let domain: string | undefined;

  for (const result of results) {
    // Indices of this result point into its own interfaces, which start here in the merged list.
    const offset = interfaces.length;
    for (const iface of result.interfaces ?? []) interfaces.push(withoutUndefined({ ...iface }));
    for (const ip of result.ips ?? []) {
      const copy = withoutUndefined({ ...ip });
      if (copy.interface !== undefined) copy.interface += offset;
      ips.push(copy);
    }
    for (const route of result.routes ?? []) {
      const key = routeKey(route);
      if (routeKeys.has(key)) continue;
      routeKeys.add(key);
      routes.push(withoutUndefined({ ...route }));
    }
    const dns = result.dns;
    if (dns) {
      for (const s of dns.nameservers ?? []) nameservers.add(s);
      for (const s of dns.search ?? []) search.add(s);
      for (const s of dns.options ?? []) options.add(s);
      domain ||= dns.domain || undefined;
    }
  }

  const dns: DNS = {};
  if (nameservers.size > 0) dns.nameservers = [...nameservers];
  if (domain) dns.domain = domain;
  if (search.size > 0) dns.search = [...search];
  if (options.size > 0) dns.options = [...options];

  const merged: Result = { cniVersion };
  if (interfaces.length > 0) merged.interfaces = interfaces;
  if (ips.length > 0) merged.ips = ips;
  if (routes.length > 0) merged.routes = routes;
  if (Object.keys(dns).length > 0) merged.dns = dns;
  return merged;
}

/** Identity of a route: every field, with libcni's empty values (''/0 for non-pointer fields) as absent. */
function routeKey(r: Route): string {
  return JSON.stringify([r.dst, r.gw || null, r.mtu || null, r.advmss || null, r.priority || null, r.table ?? null, r.scope ?? null]);
}

/** Drops keys whose value is undefined, so copies never print `undefined`. */
function withoutUndefined<T extends object>(o: T): T {
  for (const key of Object.keys(o) as (keyof T)[]) {
    if (o[key] === undefined) delete o[key];
  }
  return o;
}
