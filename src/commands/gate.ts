import { CniError, ErrorCode } from '../cni/errors';
import type { Command } from '../cni/env';
import { atLeast } from '../cni/version';

const MINIMUM: Partial<Record<Command, string>> = { CHECK: '0.4.0', STATUS: '1.1.0', GC: '1.1.0' };

/** Refuses commands the config's cniVersion predates (CHECK < 0.4.0, STATUS and GC < 1.1.0) with code 1. */
export function requireVersion(command: Command, cniVersion: string): void {
  const min = MINIMUM[command];
  if (min && !atLeast(cniVersion, min)) {
    throw new CniError(ErrorCode.IncompatibleVersion, `config version ${cniVersion} does not allow ${command}`);
  }
}
