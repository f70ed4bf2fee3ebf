import schema from '../../schemas/config.schema.json';
import { CniError, ErrorCode } from '../cni/errors';
import { runtimeConfigProblems } from '../cni/runtime-config';
import { fieldName, schemaProblems, type ConfigWarning, type SchemaProblem } from './schema';

/** How strictly a command reads braid's config: DEL and GC only need what finds and tears down an attachment. */
export type ParseMode = 'strict' | 'del';

// Logging must never fail a command: a bad log setting is a warning and its default, on every command.
const LOG_KEYS = new Set(['logFile', 'logFormat', 'logLevel', 'logToStderr', 'logOptions']);
const LOG_OPTIONS = new Set(Object.keys(schema.properties.logOptions.properties));
// What DEL cannot do without: the version it answers in, and where the cache and locks are.
const DEL_NEEDS = new Set(['cniVersion', 'cniVersions', 'type', 'cniDir']);
// Multus reads "" as "use the default" for these (conf.go), so braid does too.
const EMPTY_MEANS_DEFAULT = new Set([
  'confDir', 'cniDir', 'binDir', 'multusNamespace', 'clusterNetwork', 'kubeletSocket', 'kubeletCheckpoint',
  'deviceInfoDir', 'pciDevicesDir',
]);

// A pointer's keys ("/logOptions/maxAge" -> ["logOptions", "maxAge"]), unescaped (RFC 6901).
function keysOf(pointer: string): string[] {
  return pointer.split('/').slice(1).map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
}

// JSON null for an optional key, or "" for a key whose default Multus applies to "", means the default.
function withoutUnset(doc: Record<string, unknown>): Record<string, any> {
  const out: Record<string, any> = {};
  for (const [k, v] of Object.entries(doc)) {
    if ((v === null && k !== 'type') || (v === '' && EMPTY_MEANS_DEFAULT.has(k))) continue;
    out[k] = v;
  }
  if (typeof out.logOptions === 'object' && out.logOptions !== null && !Array.isArray(out.logOptions)) {
    out.logOptions = Object.fromEntries(Object.entries(out.logOptions).filter(([, v]) => v !== null));
  }
  return out;
}

function invalidConfig(p: SchemaProblem, all: SchemaProblem[]): CniError {
  return new CniError(ErrorCode.InvalidConfig, `invalid braid config: ${fieldName(p.pointer)} ${p.message}`, JSON.stringify(all), p.pointer);
}

/**
 * Validates braid's config document against its schema, and the runtime's runtimeConfig values for
 * well-known capabilities against their types, before any delegate runs. Invalid log settings (and, in 'del' mode, invalid
 * values of any key DEL does not need) are dropped with a warning each, so their defaults apply; any
 * other schema problem is a code 7 naming the field. Returns the document to read values from.
 */
export function validatedDocument(doc: Record<string, unknown>, mode: ParseMode, warnings: ConfigWarning[]): Record<string, any> {
  const out = withoutUnset(doc);
  const problems = [...schemaProblems(out), ...runtimeConfigProblems(out.runtimeConfig)];
  const lenient = (key: string) => LOG_KEYS.has(key) || (mode === 'del' && !DEL_NEEDS.has(key));
  const fatal = problems.find((p) => !lenient(keysOf(p.pointer)[0] ?? ''));
  if (fatal) throw invalidConfig(fatal, problems);
  for (const p of problems) {
    const [key, sub] = keysOf(p.pointer);
    const why = LOG_KEYS.has(key) ? 'log settings never fail a command' : 'DEL does not need it';
    if (key === 'logOptions' && sub !== undefined) {
      const message = LOG_OPTIONS.has(sub) ? `logOptions.${sub} ${p.message}: using its default (${why})` : `logOptions: ignoring unknown key ${JSON.stringify(sub)}`;
      warnings.push({ pointer: p.pointer, message });
      out.logOptions = { ...out.logOptions };
      delete out.logOptions[sub];
    } else if (key in out) {
      warnings.push({ pointer: p.pointer, message: `${fieldName(p.pointer)} ${p.message}: using the default for ${key} (${why})` });
      delete out[key];
    }
  }
  return out;
}
