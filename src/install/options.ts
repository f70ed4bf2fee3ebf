import fs = require('node:fs');

/**
 * Reads the options file (JSON or YAML, e.g. a mounted ConfigMap key): an object of braid config keys.
 * Undefined when the file does not exist (an optional ConfigMap that is not there).
 */
export async function readOptionsFile(file: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`options file ${file}: ${(e as Error).message}`);
  }
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
