import { pointerSegment } from '../cni/errors';

/** Something braid accepts but an operator should fix: where it is (JSON pointer) and why. */
export interface Warning { pointer: string; message: string }

// The selection-element keys parseElement reads (NAD spec v1.3 §4.1.2, plus Multus's deviceID and interfaceRequest).
const KNOWN_KEYS = new Set([
  'name', 'namespace', 'interface', 'interfaceRequest', 'ips', 'mac', 'infiniband-guid', 'default-route',
  'portMappings', 'bandwidth', 'cni-args', 'ipam-claim-reference', 'deviceID',
]);

/**
 * Warnings about a networks annotation that parses (call parseNetworksAnnotation first): deprecated
 * `interfaceRequest` and keys braid ignores, pointed at inside the annotation's JSON form.
 */
export function selectionWarnings(value: string): Warning[] {
  let doc: unknown;
  try {
    doc = JSON.parse(value);
  } catch {
    return []; // the comma form has no keys
  }
  if (!Array.isArray(doc)) return [];
  return doc.flatMap((el, i) => Object.keys((el ?? {}) as object).flatMap((key): Warning[] => {
    const pointer = `/${i}/${pointerSegment(key)}`;
    if (key === 'interfaceRequest') return [{ pointer, message: '"interfaceRequest" is deprecated (Multus): use "interface"' }];
    return KNOWN_KEYS.has(key) ? [] : [{ pointer, message: `unknown key ${JSON.stringify(key)} is ignored` }];
  }));
}
