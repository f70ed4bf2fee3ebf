import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { onTestFinished } from 'vitest';

/** Runs `ip` with arguments and returns stdout; throws on failure. */
export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8' });
}

/** Interface names inside a netns (loopback excluded). */
export function linksIn(netns: string): string[] {
  const out = JSON.parse(ip('-n', netns, '-j', 'link', 'show')) as Array<{ ifname: string }>;
  return out.map((l) => l.ifname).filter((n) => n !== 'lo');
}

/** IPv4/IPv6 addresses (CIDR) of one interface inside a netns, link-local excluded. */
export function addressesIn(netns: string, ifname: string): string[] {
  const out = JSON.parse(ip('-n', netns, '-j', 'addr', 'show', 'dev', ifname)) as Array<{ addr_info: Array<{ local: string; prefixlen: number; scope: string }> }>;
  return out.flatMap((l) => l.addr_info).filter((a) => a.scope !== 'link').map((a) => `${a.local}/${a.prefixlen}`);
}

/** `ip -n` takes a netns name, Sandbox.netns() gives its path. */
export function nsName(netnsPath: string): string {
  return path.basename(netnsPath);
}

/** True when a host-side link exists. */
export function hostLinkExists(name: string): boolean {
  try {
    ip('link', 'show', name);
    return true;
  } catch {
    return false;
  }
}

/** Allocations host-local still holds under `dataDir` (files named like an IP, any network). */
export function hostLocalLeases(dataDir: string): string[] {
  if (!fs.existsSync(dataDir)) return [];
  return fs.readdirSync(dataDir).flatMap((net) => {
    const dir = path.join(dataDir, net);
    if (!fs.statSync(dir).isDirectory()) return [];
    return fs.readdirSync(dir).filter((f) => /^[0-9a-f.:]+$/i.test(f) && (f.includes('.') || f.includes(':'))).map((f) => `${net}/${f}`);
  });
}

/**
 * A per-test world: a temp dir (cniDir, ipam dataDir, confDir), netns and host links it created,
 * all removed by cleanup() even when the test failed. Names carry a short unique suffix.
 */
export class Sandbox {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-test-'));
  readonly cniDir = path.join(this.dir, 'cache');
  readonly ipamDir = path.join(this.dir, 'ipam');
  readonly confDir = path.join(this.dir, 'net.d');
  /** A FAKE_LOG file for the recording test plugins. */
  readonly fakeLog = path.join(this.dir, 'fake.log');
  readonly id = Math.random().toString(36).slice(2, 7);
  private netnses: string[] = [];
  private links: string[] = [];

  constructor() {
    fs.mkdirSync(this.confDir);
  }

  /** Creates a netns named `bt-<id>-<tag>` and returns its path under /var/run/netns. */
  netns(tag = 'pod'): string {
    const name = `bt-${this.id}-${tag}`;
    ip('netns', 'add', name);
    this.netnses.push(name);
    return `/var/run/netns/${name}`;
  }

  /** Creates a host veth pair (names ≤ 15 chars) and returns both ends; removed on cleanup. */
  veth(tag: string): [string, string] {
    const a = `v${this.id}${tag}a`;
    const b = `v${this.id}${tag}b`;
    ip('link', 'add', a, 'type', 'veth', 'peer', 'name', b);
    ip('link', 'set', a, 'up');
    ip('link', 'set', b, 'up');
    this.links.push(a, b);
    return [a, b];
  }

  /** A unique host link name (e.g. a bridge) to remove on cleanup. */
  linkName(tag: string): string {
    const name = `b${this.id}${tag}`;
    this.links.push(name);
    return name;
  }

  /** Writes a file under the sandbox dir and returns its path. */
  write(rel: string, content: unknown): string {
    const file = path.join(this.dir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
    return file;
  }

  /** braid's cache file of one container in cniDir, parsed. */
  readCache(containerID: string): any {
    return JSON.parse(fs.readFileSync(path.join(this.cniDir, containerID), 'utf8'));
  }

  /** Cache files braid left in cniDir (the locks directory excluded). */
  cacheFiles(): string[] {
    if (!fs.existsSync(this.cniDir)) return [];
    return fs.readdirSync(this.cniDir, { withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name);
  }

  /** Removes every netns, link and file this sandbox created. */
  cleanup(): void {
    for (const n of this.netnses) {
      try { ip('netns', 'del', n); } catch { /* already gone */ }
    }
    for (const l of this.links) {
      try { ip('link', 'del', l); } catch { /* already gone, or removed with its peer */ }
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A fresh Sandbox, cleaned up when the current test finishes whatever happens (call it in a test or beforeEach). */
export function sandbox(): Sandbox {
  const sb = new Sandbox();
  onTestFinished(() => sb.cleanup());
  return sb;
}

/** One pod in a sandbox(): its netns, pod name `<namePrefix>-<id>`, UID `uid-<id>` and container ID `<containerPrefix>-<id>`. */
export class PodSandbox {
  readonly sb = sandbox();
  readonly netns = this.sb.netns();
  /** The netns name, for `ip -n`. */
  readonly ns = nsName(this.netns);
  readonly name: string;
  readonly uid = `uid-${this.sb.id}`;
  readonly containerID: string;

  constructor(namePrefix: string, containerPrefix: string) {
    this.name = `${namePrefix}-${this.sb.id}`;
    this.containerID = `${containerPrefix}-${this.sb.id}`;
  }

  /** braid's cache file of this pod's container, parsed. */
  cache(): any {
    return this.sb.readCache(this.containerID);
  }
}

/** One /24 of the test address plan and its IPv6 twin: 10.250.N.0/24 and fd00:250:N::/64. */
export interface TestSubnet {
  v4: string;
  v6: string;
  gw4: string;
  gw6: string;
  host4: (n: number) => string;
  host6: (n: number) => string;
}

/** A round-robin allocator over a file's range 10.250.first.0/24 … 10.250.(first+count-1).0/24 (and fd00:250:N::/64 twins). */
export function subnetAllocator(first: number, count: number): () => TestSubnet {
  let i = 0;
  return () => {
    const n = first + (i++ % count);
    return {
      v4: `10.250.${n}.0/24`,
      v6: `fd00:250:${n}::/64`,
      gw4: `10.250.${n}.1`,
      gw6: `fd00:250:${n}::1`,
      host4: (h) => `10.250.${n}.${h}`,
      host6: (h) => `fd00:250:${n}::${h.toString(16)}`,
    };
  };
}

/** A round-robin allocator of IPv4 /24s (as "10.250.N.0/24") over a test file's range; see subnetAllocator. */
export function v4SubnetAllocator(first: number, count: number): () => string {
  const next = subnetAllocator(first, count);
  return () => next().v4;
}

/** The n-th host address of an IPv4 /24 ("10.250.x.0/24", 5 → "10.250.x.5"). */
export function hostOf(subnet: string, n: number): string {
  return `${subnet.split('.').slice(0, 3).join('.')}.${n}`;
}

/** True when an IPv4 address (with or without prefix) lies in a /24. */
export function inSubnet(address: string, subnet: string): boolean {
  return address.split('.').slice(0, 3).join('.') === subnet.split('.').slice(0, 3).join('.');
}
