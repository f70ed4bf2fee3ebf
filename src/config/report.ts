import { log, logAlways } from '../log';
import type { BraidConfig } from './braid-config';

/**
 * Logs what braid ignored in the config (after configureLog). Invalid values are shown even at a level
 * that hides warnings (panic, error), as Multus prints a bad level unconditionally.
 */
export function reportConfigWarnings(config: BraidConfig): void {
  if (config.unknownKeys.length > 0) log('warning', `ignoring unknown config keys: ${config.unknownKeys.join(', ')}`);
  for (const { message } of config.warnings) logAlways('warning', message);
}
