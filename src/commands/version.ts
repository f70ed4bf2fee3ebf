import { CURRENT_VERSION, isSupportedVersion, SUPPORTED_VERSIONS } from '../cni/version';

/** VERSION: the versions braid speaks, answered in the caller's cniVersion when it is one braid knows. */
export function version(stdin: string): { cniVersion: string; supportedVersions: string[] } {
  let asked = '';
  try {
    asked = (JSON.parse(stdin) as { cniVersion?: unknown }).cniVersion as string;
  } catch {
    // VERSION works without a config
  }
  return { cniVersion: typeof asked === 'string' && isSupportedVersion(asked) ? asked : CURRENT_VERSION, supportedVersions: [...SUPPORTED_VERSIONS] };
}
