import type { Level } from '../log';
import type { ConfigWarning } from './schema';

// Multus's level names (matched case-insensitively, as Multus does) and the usual aliases, onto braid's
// levels. Multus has no info or warning level: info is its verbose, warning sits between error and verbose.
const NAMES: Record<string, Level> = {
  panic: 'panic', error: 'error', warning: 'warning', warn: 'warning',
  info: 'verbose', verbose: 'verbose', debug: 'debug',
};

/** braid's level for a config `logLevel`; '' (unset: the log's default) for none, and for an unknown one, with a warning. */
export function normalizeLogLevel(value: string | undefined, warnings: ConfigWarning[]): Level | '' {
  if (value === undefined || value === '') return '';
  const level = NAMES[value.toLowerCase()];
  if (level) return level;
  warnings.push({ pointer: '/logLevel', message: `logLevel ${JSON.stringify(value)} is not a level (panic, error, warning, info/verbose, debug): using the default` });
  return '';
}
