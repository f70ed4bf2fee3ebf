import fs = require('node:fs');
import { CniError, ErrorCode } from '../cni/errors';
import { decodeJson, parseBraidConfig, type BraidConfig } from '../config/braid-config';

/** Plugin types whose config braid reads as its own (a Multus config works by changing only "type"). */
export const META_TYPES = ['braid', 'multus'];

/** The braid plugins of a conf or conflist document, each as libcni hands it over (the list's name and cniVersion injected), with its pointer. */
export function braidPlugins(doc: Record<string, unknown>): Array<{ pointer: string; config: Record<string, unknown> }> {
  if (!Array.isArray(doc.plugins)) return META_TYPES.includes(doc.type as string) ? [{ pointer: '', config: doc }] : [];
  return doc.plugins.flatMap((p: Record<string, unknown>, i) => (META_TYPES.includes(p?.type as string)
    ? [{ pointer: `/plugins/${i}`, config: { ...p, name: doc.name, cniVersion: doc.cniVersion } }]
    : []));
}

/** Reads the braid config a runtime would pass from a conf or conflist file (the first braid plugin of a list). */
export function loadBraidConfigFile(file: string): BraidConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new CniError(ErrorCode.IoFailure, `cannot read ${file}: ${(e as Error).message}`);
  }
  const [first] = braidPlugins(decodeJson(text, file));
  if (!first) throw new CniError(ErrorCode.InvalidConfig, `${file}: no plugin of type ${META_TYPES.join(' or ')}`);
  return parseBraidConfig(first.config);
}
