/** CNI error codes (spec 1.1 §"Error"); 100+ would be braid-specific. */
export const ErrorCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnv: 4,
  IoFailure: 5,
  DecodeFailure: 6,
  InvalidConfig: 7,
  TryAgainLater: 11,
  NotAvailable: 50,
  NotAvailableDegraded: 51,
  Internal: 999,
} as const;

/** The one error type: every failure path ends in a CniError printed as CNI error JSON. */
export class CniError extends Error {
  constructor(
    readonly code: number,
    msg: string,
    readonly details = '',
    /** JSON pointer (RFC 6901) to the offending field, relative to the document the thrower parsed; '' when none. */
    readonly pointer = '',
  ) {
    super(msg);
    this.name = 'CniError';
  }

  /** The CNI error object printed on stdout. */
  toJSON(cniVersion: string): { cniVersion: string; code: number; msg: string; details?: string } {
    return { cniVersion, code: this.code, msg: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

/** Wraps any thrown value into a CniError, keeping CniErrors as they are. */
export function asCniError(err: unknown, code: number = ErrorCode.Internal): CniError {
  if (err instanceof CniError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new CniError(code, msg);
}

/** The same error with its pointer placed under `prefix`: the document it names is embedded at `prefix`. */
export function nestError(err: CniError, prefix: string): CniError {
  return new CniError(err.code, err.message, err.details, `${prefix}${err.pointer}`);
}

/** Escapes one JSON pointer segment (RFC 6901: "~" as "~0", "/" as "~1"). */
export function pointerSegment(key: string | number): string {
  return String(key).replace(/~/g, '~0').replace(/\//g, '~1');
}
