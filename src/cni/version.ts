/** Every CNI spec version braid speaks, oldest first. */
export const SUPPORTED_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

/** The newest spec version braid implements. */
export const CURRENT_VERSION = '1.1.0';

/** Compares two dotted versions numerically; an empty version means 0.1.0 (libcni rule). */
export function compareVersions(a: string, b: string): number {
  const pa = (a || '0.1.0').split('.').map(Number);
  const pb = (b || '0.1.0').split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** True when `v` is a well-formed version braid knows. */
export function isSupportedVersion(v: string): boolean {
  return (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

/** True when `v` is at least `min`. */
export function atLeast(v: string, min: string): boolean {
  return compareVersions(v, min) >= 0;
}
