// Secrets out of log lines. Two rules, applied to everything a line carries:
// - by key: a value under a key naming a secret (token, password, client-key-data, auth, ...) is
//   replaced whole, whatever its type; a key that names where a secret lives (tokenFile, keyPath,
//   secretName) is not a secret and stays readable;
// - by shape: inside any string, bearer/basic credentials, JWTs (service-account tokens), PEM private
//   keys, URL passwords, `secret=value` pairs, `"secret": "value"` JSON members and `secret: value`
//   YAML lines are replaced.

/** What a redacted value is replaced with. */
export const REDACTED = '[redacted]';

const SECRET_WORDS = new Set([
  'token', 'password', 'passwd', 'passphrase', 'secret', 'key', 'psk', 'credential', 'auth',
  'authorization', 'bearer', 'cookie', 'apikey', 'privatekey', 'jwt',
]);
// The last word of a key that names a place or a reference, not the secret itself.
const REFERENCE_WORDS = new Set(['file', 'path', 'dir', 'name', 'ref']);

// "client-key-data" → client,key,data; "privateKeyPEM" → private,key,pem; plurals folded ("tokens" → token).
function words(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean)
    .map((w) => (w.length > 3 && w.endsWith('s') ? w.slice(0, -1) : w));
}

/** True when a value under `key` is a secret (by the words of the key; references to secrets excluded). */
export function isSecretKey(key: string): boolean {
  const w = words(key);
  return w.length > 0 && w.some((x) => SECRET_WORDS.has(x)) && !REFERENCE_WORDS.has(w[w.length - 1]);
}

const SECRET_KEY_TEXT = '[\\w.-]*(?:token|password|passwd|passphrase|secret|apikey|api_key|api-key|psk|authorization)[\\w.-]*';
const TEXT_RULES: Array<[RegExp, string]> = [
  [/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g, REDACTED],
  [/\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]+/gi, `$1$2${REDACTED}`],
  [/\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, REDACTED],
  [/\b([a-z][a-z0-9+.-]*:\/\/[^/\s:@]+):[^@\s/]+@/gi, `$1:${REDACTED}@`],
  [new RegExp(`("${SECRET_KEY_TEXT}"\\s*:\\s*)"(?:[^"\\\\]|\\\\.)*"`, 'gi'), `$1"${REDACTED}"`],
  [new RegExp(`(\\\\"${SECRET_KEY_TEXT}\\\\"\\s*:\\s*)\\\\"(?:[^"\\\\]|\\\\[^"])*\\\\"`, 'gi'), `$1\\"${REDACTED}\\"`],
  [new RegExp(`\\b(${SECRET_KEY_TEXT})(\\s*=\\s*)[^\\s;,&"']+`, 'gi'), `$1$2${REDACTED}`],
  [new RegExp(`^(\\s*(?:-\\s+)?${SECRET_KEY_TEXT}:[ \\t]+)\\S.*$`, 'gim'), `$1${REDACTED}`], // YAML (a kubeconfig)
];

/** `text` with every secret-shaped part replaced by REDACTED. */
export function redactText(text: string): string {
  let out = text;
  for (const [pattern, replacement] of TEXT_RULES) out = out.replace(pattern, replacement);
  return out;
}

/** A deep copy of `value` with secrets replaced: by key anywhere in objects, by shape in every string. */
export function redact(value: unknown): unknown {
  if (typeof value === 'string') return redactText(value);
  if (Array.isArray(value)) return value.map(redact);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = isSecretKey(k) && v !== null && v !== '' ? REDACTED : redact(v);
  }
  return out;
}
