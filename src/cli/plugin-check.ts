import { asCniError } from '../cni/errors';
import type { NetworkConfig } from '../config/netconf';
import { execPlugin } from '../delegate/exec';
import { findPlugin } from '../delegate/find';
import type { Finding } from './findings';

const VERSION_TIMEOUT_MS = 5000;
const versionsOf = new Map<string, string[] | Error>();

// A plugin's supportedVersions, asked once per file with CNI_COMMAND=VERSION (harmless: no netns, no state).
function supportedVersions(file: string, cniVersion: string): string[] | Error {
  const known = versionsOf.get(file);
  if (known) return known;
  let answer: string[] | Error;
  try {
    const out = execPlugin(file, { env: { CNI_COMMAND: 'VERSION', PATH: process.env.PATH }, stdin: JSON.stringify({ cniVersion }), timeoutMs: VERSION_TIMEOUT_MS });
    const versions = (JSON.parse(out.stdout) as { supportedVersions?: unknown }).supportedVersions;
    answer = out.exitCode === 0 && Array.isArray(versions) ? versions.map(String) : new Error(`VERSION failed: ${out.stderr.trim() || out.stdout.trim()}`);
  } catch (e) {
    answer = e instanceof Error ? e : new Error(String(e));
  }
  versionsOf.set(file, answer);
  return answer;
}

/**
 * Checks that braid could run `net`'s delegates: every plugin type is found in `dirs` (as ADD searches
 * them) and answers VERSION with the network's cniVersion among its supported versions.
 * `base` is the pointer of the network's config; `single` when it is a conf rather than a conflist.
 */
export function checkDelegates(net: NetworkConfig, dirs: string[], base: string, single: boolean): Finding[] {
  return net.plugins.flatMap((plugin, i): Finding[] => {
    const at = single ? base : `${base}/plugins/${i}`;
    let file: string;
    try {
      file = findPlugin(plugin.type as string, dirs);
    } catch (e) {
      return [{ severity: 'error', pointer: `${at}/type`, message: asCniError(e).message, code: asCniError(e).code }];
    }
    if (!net.cniVersion) return []; // filled in from braid's own config at ADD: nothing to compare yet
    const versions = supportedVersions(file, net.cniVersion);
    if (versions instanceof Error) {
      return [{ severity: 'warning', pointer: `${at}/type`, message: `plugin ${file} did not answer VERSION (${versions.message}): its cniVersion support is unknown` }];
    }
    if (versions.includes(net.cniVersion)) return [];
    return [{
      severity: 'error', pointer: `${base}/cniVersion`, code: 1,
      message: `plugin ${JSON.stringify(plugin.type)} (${file}) does not support cniVersion ${net.cniVersion}; it supports ${versions.join(', ')}`,
    }];
  });
}
