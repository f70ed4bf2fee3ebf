import type { CniError } from '../cni/errors';

/** One problem validate found: an error (ADD would fail) or a warning (ADD goes on, perhaps not as meant). */
export interface Finding {
  severity: 'error' | 'warning';
  /** JSON pointer within the document; it continues into JSON text held by a string (spec.config, annotations). */
  pointer: string;
  message: string;
  /** The CNI error code ADD would fail with. */
  code?: number;
}

/** A CniError as an error finding, its pointer placed under `base`. */
export function errorFinding(err: CniError, base = ''): Finding {
  return { severity: 'error', pointer: `${base}${err.pointer}`, message: err.message, code: err.code };
}
