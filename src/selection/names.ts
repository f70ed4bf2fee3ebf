// Kubernetes object names (apimachinery validation): NADs are DNS-1123 subdomains, namespaces DNS-1123 labels.

const LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const LABEL_RE = new RegExp(`^${LABEL}$`);
const SUBDOMAIN_RE = new RegExp(`^${LABEL}(\\.${LABEL})*$`);

/** True for a DNS-1123 label (a namespace name): at most 63 of [a-z0-9-], alphanumeric at both ends. */
export function isDns1123Label(value: string): boolean {
  return value.length <= 63 && LABEL_RE.test(value);
}

/** True for a DNS-1123 subdomain (a NetworkAttachmentDefinition name): dot-separated labels, at most 253 characters. */
export function isDns1123Subdomain(value: string): boolean {
  return value.length <= 253 && SUBDOMAIN_RE.test(value);
}

/** Why `name` cannot be a NetworkAttachmentDefinition name, or undefined when it can. */
export function nadNameProblem(name: string): string | undefined {
  return isDns1123Subdomain(name) ? undefined : `name ${JSON.stringify(name)} is not a valid DNS-1123 subdomain`;
}

/** Why `namespace` cannot be a namespace name, or undefined when it can. */
export function namespaceProblem(namespace: string): string | undefined {
  return isDns1123Label(namespace) ? undefined : `namespace ${JSON.stringify(namespace)} is not a valid DNS-1123 label`;
}
