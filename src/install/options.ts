import fs = require('node:fs');

/** Reads the options file (JSON or YAML, e.g. a mounted ConfigMap key): an object of braid config keys. */
export async function readOptionsFile(file: string): Promise<Record<string, unknown>> {
  const text = fs.readFileSync(file, 'utf8');
  const yaml = await import('js-yaml'); // JSON is YAML; loaded only by the installer
  let doc: unknown;
  try {
    doc = yaml.load(text);
  } catch (e) {
    throw new Error(`options file ${file}: ${(e as { reason?: string }).reason ?? (e as Error).message}`);
  }
  if (doc === undefined || doc === null) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`options file ${file}: expected an object of braid config keys`);
  return doc as Record<string, unknown>;
}
