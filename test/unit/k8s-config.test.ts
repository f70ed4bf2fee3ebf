import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as yaml from 'js-yaml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BraidConfig } from '../../src/config/braid-config';
import { KubeApi, type NadObject } from '../../src/k8s/api';
import { KubeClient } from '../../src/k8s/client';
import { inClusterCredentials, kubeconfigCredentials } from '../../src/k8s/credentials';
import { isStaticPod, podFromCniArgs } from '../../src/k8s/pod';
import { networkFromNad, openNadDir, RESOURCE_NAME_ANNOTATION } from '../../src/resolve/nads';
import { startApiServer, type ApiServer } from '../helpers/apiserver.mjs';
import { asyncCniError, cniError } from '../helpers/unit';

// The Kubernetes inputs braid reads without a cluster: CNI_ARGS, pod objects, kubeconfig and
// service-account credentials, NAD manifest directories and NAD → delegate network conversion; and
// the API client itself, against the test kube-apiserver (test/helpers/apiserver.mjs).

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'braid-k8s-'));
  dirs.push(d);
  return d;
}

function write(dir: string, rel: string, content: string): string {
  const file = path.join(dir, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  return file;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const parseYaml = (text: string) => yaml.load(text);

describe('podFromCniArgs', () => {
  it('reads namespace, name, UID and infra container ID from CNI_ARGS', () => {
    expect(podFromCniArgs('IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=abc123;K8S_POD_UID=u-1')).toStrictEqual({
      namespace: 'ns', name: 'web-0', uid: 'u-1', infraContainerID: 'abc123',
    });
  });

  it('defaults UID and infra container ID to empty strings', () => {
    expect(podFromCniArgs('K8S_POD_NAMESPACE=ns;K8S_POD_NAME=web-0')).toStrictEqual({ namespace: 'ns', name: 'web-0', uid: '', infraContainerID: '' });
  });

  it.each(['', 'IgnoreUnknown=1', 'K8S_POD_NAME=web-0', 'K8S_POD_NAMESPACE=ns', 'K8S_POD_NAMESPACE=;K8S_POD_NAME=web-0', 'K8S_POD_NAMESPACE=ns;K8S_POD_NAME='])(
    'is undefined when CNI_ARGS %j does not name a pod', (args) => {
      expect(podFromCniArgs(args)).toBeUndefined();
    },
  );
});

describe('isStaticPod', () => {
  const pod = (source?: string) => ({ metadata: { name: 'p', namespace: 'ns', ...(source !== undefined ? { annotations: { 'kubernetes.io/config.source': source } } : {}) } });

  it('is true for a pod from a file or http source (a mirror pod)', () => {
    expect(isStaticPod(pod('file'))).toBe(true);
    expect(isStaticPod(pod('http'))).toBe(true);
  });

  it('is false for an API pod and for a pod without the annotation', () => {
    expect(isStaticPod(pod('api'))).toBe(false);
    expect(isStaticPod(pod())).toBe(false);
    expect(isStaticPod({ metadata: { name: 'p', namespace: 'ns', annotations: {} } })).toBe(false);
  });
});

const TOKEN = 'sekret-token-9f8e7d';

/** A kubeconfig document with one context "c" → cluster "k" and user "u". */
function kubeconfig(user: Record<string, unknown>, cluster: Record<string, unknown> = { server: 'https://10.250.160.1:6443' }, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'c',
    contexts: [{ name: 'other', context: { cluster: 'nope', user: 'nope' } }, { name: 'c', context: { cluster: 'k', user: 'u' } }],
    clusters: [{ name: 'k', cluster }],
    users: [{ name: 'u', user }],
    ...extra,
  };
}

describe('kubeconfigCredentials', () => {
  it('reads server, CA data and token from a YAML kubeconfig, dropping the server\'s trailing slash', () => {
    const dir = tempDir();
    const file = write(dir, 'kubeconfig', yaml.dump(kubeconfig({ token: TOKEN }, { server: 'https://10.250.160.1:6443/', 'certificate-authority-data': b64('CA PEM') })));
    const creds = kubeconfigCredentials(file, parseYaml);
    expect(creds.server).toBe('https://10.250.160.1:6443');
    expect(creds.token).toBe(TOKEN);
    expect(creds.ca?.toString()).toBe('CA PEM');
    expect(creds.cert).toBeUndefined();
    expect(creds.key).toBeUndefined();
    expect(creds.insecureSkipTLSVerify).toBe(false);
    expect(creds.source).toBe(`kubeconfig ${file}, inline token`);
    expect(creds.source).not.toContain(TOKEN);
    expect(creds.tlsServerName).toBeUndefined();
  });

  it('reads a JSON kubeconfig the same way', () => {
    const dir = tempDir();
    const file = write(dir, 'kubeconfig.json', JSON.stringify(kubeconfig({ token: TOKEN }, { server: 'https://[fd00:250::1]:6443', 'insecure-skip-tls-verify': true })));
    const creds = kubeconfigCredentials(file, parseYaml);
    expect(creds).toMatchObject({ server: 'https://[fd00:250::1]:6443', token: TOKEN, insecureSkipTLSVerify: true });
    expect(kubeconfigCredentials(file, JSON.parse)).toMatchObject({ server: 'https://[fd00:250::1]:6443', token: TOKEN });
  });

  it('re-reads tokenFile (relative to the kubeconfig) on every call, so a rotated token is picked up', () => {
    const dir = tempDir();
    write(dir, 'secrets/token', 'first-token\n');
    const file = write(dir, 'kubeconfig', yaml.dump(kubeconfig({ tokenFile: 'secrets/token' })));
    expect(kubeconfigCredentials(file, parseYaml).token).toBe('first-token');
    write(dir, 'secrets/token', 'second-token\n');
    expect(kubeconfigCredentials(file, parseYaml).token).toBe('second-token');
  });

  it('prefers tokenFile over an inline token, as client-go does, and names the file as the source', () => {
    const dir = tempDir();
    write(dir, 'token', 'from-file\n');
    const file = write(dir, 'kubeconfig', yaml.dump(kubeconfig({ token: TOKEN, tokenFile: 'token' })));
    const creds = kubeconfigCredentials(file, parseYaml);
    expect(creds.token).toBe('from-file');
    expect(creds.source).toBe(`kubeconfig ${file}, token file ${path.join(dir, 'token')}`);
  });

  it.each([['missing', undefined], ['empty', '\n']])('falls back to the inline token when tokenFile is %s, saying so without the token', (_what, content) => {
    const dir = tempDir();
    if (content !== undefined) write(dir, 'token', content);
    const file = write(dir, 'kubeconfig', yaml.dump(kubeconfig({ token: TOKEN, tokenFile: 'token' })));
    const creds = kubeconfigCredentials(file, parseYaml);
    expect(creds.token).toBe(TOKEN);
    expect(creds.source).toContain(`inline token (token file ${path.join(dir, 'token')} unusable`);
    expect(creds.source).not.toContain(TOKEN);
  });

  it('fails with code 5 naming tokenFile when it is empty and there is no inline token', () => {
    const dir = tempDir();
    write(dir, 'token', '  \n');
    const file = write(dir, 'kubeconfig', yaml.dump(kubeconfig({ tokenFile: 'token' })));
    const err = cniError(() => kubeconfigCredentials(file, parseYaml));
    expect(err.code).toBe(5);
    expect(err.message).toBe(`cannot read token file ${path.join(dir, 'token')}: it is empty`);
  });

  it('reads tls-server-name, the name to verify the server certificate against', () => {
    const dir = tempDir();
    const file = write(dir, 'kubeconfig', yaml.dump(kubeconfig({ token: TOKEN }, { server: 'https://10.250.160.1:6443', 'tls-server-name': 'kubernetes.default.svc' })));
    expect(kubeconfigCredentials(file, parseYaml).tlsServerName).toBe('kubernetes.default.svc');
  });

  it('keeps a path prefix of the server URL', () => {
    const dir = tempDir();
    const file = write(dir, 'kubeconfig', yaml.dump(kubeconfig({ token: TOKEN }, { server: 'https://rancher.example/k8s/clusters/c-1/' })));
    expect(kubeconfigCredentials(file, parseYaml).server).toBe('https://rancher.example/k8s/clusters/c-1');
  });

  it('reads client certificate, key and CA from files, relative paths resolved against the kubeconfig\'s dir', () => {
    const dir = tempDir();
    write(dir, 'pki/client.crt', 'CERT PEM');
    const keyFile = write(dir, 'pki/client.key', 'KEY PEM');
    write(dir, 'pki/ca.crt', 'CA FILE PEM');
    const file = write(dir, 'conf/kubeconfig', yaml.dump(kubeconfig(
      { 'client-certificate': '../pki/client.crt', 'client-key': keyFile },
      { server: 'https://10.250.160.1:6443', 'certificate-authority': '../pki/ca.crt' },
    )));
    const creds = kubeconfigCredentials(file, parseYaml);
    expect(creds.cert?.toString()).toBe('CERT PEM');
    expect(creds.key?.toString()).toBe('KEY PEM');
    expect(creds.ca?.toString()).toBe('CA FILE PEM');
    expect(creds.token).toBeUndefined();
  });

  it('reads client certificate and key from the -data fields, which win over the file fields', () => {
    const dir = tempDir();
    const file = write(dir, 'kubeconfig', yaml.dump(kubeconfig(
      { 'client-certificate-data': b64('CERT DATA'), 'client-key-data': b64('KEY DATA'), 'client-certificate': 'missing.crt', 'client-key': 'missing.key' },
      { server: 'https://10.250.160.1:6443', 'certificate-authority-data': b64('CA DATA'), 'certificate-authority': 'missing-ca.crt' },
    )));
    const creds = kubeconfigCredentials(file, parseYaml);
    expect(creds.cert?.toString()).toBe('CERT DATA');
    expect(creds.key?.toString()).toBe('KEY DATA');
    expect(creds.ca?.toString()).toBe('CA DATA');
  });

  it.each([
    ['no current-context', kubeconfig({ token: TOKEN }, undefined, { 'current-context': '' }), 'no current-context'],
    ['an unknown context', kubeconfig({ token: TOKEN }, undefined, { 'current-context': 'missing' }), 'context "missing" not found'],
    ['an unknown cluster', kubeconfig({ token: TOKEN }, undefined, { clusters: [{ name: 'x', cluster: { server: 'https://10.250.160.1' } }] }), 'cluster "k" not found'],
    ['an unknown user', kubeconfig({ token: TOKEN }, undefined, { users: [{ name: 'x', user: { token: TOKEN } }] }), 'user "u" not found'],
    ['a server that is neither https:// nor http://', kubeconfig({ token: TOKEN }, { server: 'ftp://10.250.160.1:8080' }), 'https:// (or http://)'],
    ['no server', kubeconfig({ token: TOKEN }, {}), 'https://'],
    ['exec credentials', kubeconfig({ token: TOKEN, exec: { command: 'get-token', apiVersion: 'client.authentication.k8s.io/v1' } }), 'exec'],
    ['an auth-provider', kubeconfig({ token: TOKEN, 'auth-provider': { name: 'oidc' } }), 'auth-provider'],
    ['a proxy-url', kubeconfig({ token: TOKEN }, { server: 'https://10.250.160.1:6443', 'proxy-url': 'http://proxy.example:3128' }), 'cluster "k" sets proxy-url'],
    ['an empty tls-server-name', kubeconfig({ token: TOKEN }, { server: 'https://10.250.160.1:6443', 'tls-server-name': '' }), 'tls-server-name must be a non-empty string'],
  ])('refuses a kubeconfig with %s: code 7 naming the file, never the token', (_what, doc, why) => {
    const dir = tempDir();
    const file = write(dir, 'kubeconfig', yaml.dump(doc));
    const err = cniError(() => kubeconfigCredentials(file, parseYaml));
    expect(err.code).toBe(7);
    expect(err.message).toContain(`kubeconfig ${file}`);
    expect(err.message).toContain(why);
    expect(err.message).not.toContain(TOKEN);
    expect(err.details).not.toContain(TOKEN);
  });

  it('refuses invalid YAML with code 7 naming the file, without quoting the file\'s secrets', () => {
    const dir = tempDir();
    const file = write(dir, 'kubeconfig', `current-context: c\nusers:\n- name: u\n  user:\n    token: ${TOKEN}\n    extra: [\n`);
    const err = cniError(() => kubeconfigCredentials(file, parseYaml));
    expect(err.code).toBe(7);
    expect(err.message).toContain(`kubeconfig ${file}`);
    expect(err.message).toContain('line 7'); // where the error is, instead of what is there
    expect(err.message).not.toContain(TOKEN.slice(0, 6));
  });

  it('refuses invalid JSON (with a JSON parser) without quoting the file\'s secrets', () => {
    const dir = tempDir();
    const file = write(dir, 'kubeconfig.json', `{"current-context": "c", "users": [{"name": "u", "user": {"token": ${TOKEN}}}]}`);
    const err = cniError(() => kubeconfigCredentials(file, JSON.parse));
    expect(err.code).toBe(7);
    expect(err.message).toContain(`kubeconfig ${file}`);
    expect(err.message).not.toContain(TOKEN.slice(0, 6)); // not even a truncated excerpt
  });

  it('fails with code 5 naming the file when the kubeconfig or its tokenFile cannot be read', () => {
    const dir = tempDir();
    const missing = path.join(dir, 'nope');
    const err = cniError(() => kubeconfigCredentials(missing, parseYaml));
    expect(err.code).toBe(5);
    expect(err.message).toContain(missing);
    const file = write(dir, 'kubeconfig', yaml.dump(kubeconfig({ tokenFile: 'gone' })));
    const tokenErr = cniError(() => kubeconfigCredentials(file, parseYaml));
    expect(tokenErr.code).toBe(5);
    expect(tokenErr.message).toContain(path.join(dir, 'gone'));
  });
});

describe('inClusterCredentials', () => {
  function serviceAccount(token: string): string {
    const dir = tempDir();
    write(dir, 'token', `${token}\n`);
    write(dir, 'ca.crt', 'SA CA PEM');
    return dir;
  }

  it('builds the server URL from KUBERNETES_SERVICE_HOST/PORT and reads token and CA from the service-account dir', () => {
    const sa = serviceAccount(TOKEN);
    const creds = inClusterCredentials({ KUBERNETES_SERVICE_HOST: '10.250.160.1', KUBERNETES_SERVICE_PORT: '443' }, sa);
    expect(creds).toBeDefined();
    expect(creds!.server).toBe('https://10.250.160.1:443');
    expect(creds!.token).toBe(TOKEN);
    expect(creds!.ca?.toString()).toBe('SA CA PEM');
    expect(creds!.source).toBe(`in-cluster service account, token file ${path.join(sa, 'token')}`);
    expect(creds!.source).not.toContain(TOKEN);
  });

  it('brackets an IPv6 service host', () => {
    const creds = inClusterCredentials({ KUBERNETES_SERVICE_HOST: 'fd00:250::1', KUBERNETES_SERVICE_PORT: '6443' }, serviceAccount(TOKEN));
    expect(creds!.server).toBe('https://[fd00:250::1]:6443');
  });

  it('re-reads the token on every call (bound service-account tokens rotate)', () => {
    const sa = serviceAccount('old-token');
    const env = { KUBERNETES_SERVICE_HOST: '10.250.160.1', KUBERNETES_SERVICE_PORT: '443' };
    expect(inClusterCredentials(env, sa)!.token).toBe('old-token');
    write(sa, 'token', 'new-token\n');
    expect(inClusterCredentials(env, sa)!.token).toBe('new-token');
  });

  it('is undefined without KUBERNETES_SERVICE_HOST or KUBERNETES_SERVICE_PORT', () => {
    const sa = serviceAccount(TOKEN);
    expect(inClusterCredentials({}, sa)).toBeUndefined();
    expect(inClusterCredentials({ KUBERNETES_SERVICE_HOST: '10.250.160.1' }, sa)).toBeUndefined();
    expect(inClusterCredentials({ KUBERNETES_SERVICE_PORT: '443' }, sa)).toBeUndefined();
  });

  it('fails with code 5 naming the token file when the service-account token is missing', () => {
    const dir = tempDir();
    const err = cniError(() => inClusterCredentials({ KUBERNETES_SERVICE_HOST: '10.250.160.1', KUBERNETES_SERVICE_PORT: '443' }, dir));
    expect(err.code).toBe(5);
    expect(err.message).toContain(path.join(dir, 'token'));
  });
});

describe('KubeClient and KubeApi against the test kube-apiserver', () => {
  let server: ApiServer;
  beforeAll(async () => {
    server = await startApiServer();
  });
  afterEach(() => server.reset());
  afterAll(() => server.stop());

  const LIMITS = { requestTimeoutMs: 2000, totalTimeoutMs: 4000, attempts: 3 };
  /** A KubeApi on credentials read from a kubeconfig the test server writes (`server` overrides its URL). */
  function apiFor(opts: Parameters<ApiServer['kubeconfig']>[1] = {}, edit?: (doc: any) => void): { api: KubeApi; file: string } {
    const dir = tempDir();
    let file = server.kubeconfig(dir, opts);
    if (edit) {
      const doc = yaml.load(fs.readFileSync(file, 'utf8'));
      edit(doc);
      file = write(dir, 'edited.yaml', yaml.dump(doc));
    }
    return { api: new KubeApi(new KubeClient(kubeconfigCredentials(file, parseYaml), LIMITS)), file };
  }

  it('keeps the path prefix of a server URL such as a Rancher proxy\'s /k8s/clusters/<id>', async () => {
    const { api } = apiFor({ server: `${server.url}/k8s/clusters/c-1` });
    expect(await api.getPod('ns', 'p')).toBeUndefined(); // the test server does not strip the prefix: a 404 either way
    expect(server.calls.map((c) => c.path)).toEqual(['/k8s/clusters/c-1/api/v1/namespaces/ns/pods/p']);
    api.client.close();
  });

  it('sends tls-server-name as SNI and verifies the server certificate against it', async () => {
    server.addPod({ metadata: { namespace: 'ns', name: 'p' } });
    // The server certificate holds IP:127.0.0.1 and DNS:localhost; the kubeconfig names the server by IP.
    const plain = apiFor().api;
    expect((await plain.getPod('ns', 'p'))?.metadata.name).toBe('p');
    const named = apiFor({}, (doc) => { doc.clusters[0].cluster['tls-server-name'] = 'localhost'; }).api;
    expect((await named.getPod('ns', 'p'))?.metadata.name).toBe('p');
    expect(server.calls.map((c) => c.servername)).toEqual([undefined, 'localhost']);
    const other = apiFor({}, (doc) => { doc.clusters[0].cluster['tls-server-name'] = 'kubernetes.example'; }).api;
    const err = await asyncCniError(other.getPod('ns', 'p'));
    expect(err.message).toContain('kubernetes.example'); // the certificate does not name it
    expect(server.calls).toHaveLength(2); // refused at the handshake: no request was made
    for (const a of [plain, named, other]) a.client.close();
  });

  const podPath = '/api/v1/namespaces/ns/pods/p';
  const failures: Array<[string, (s: ApiServer) => void, (a: KubeApi) => Promise<unknown>, string, string]> = [
    ['a rejected token (401)', (s) => s.addPod({ metadata: { namespace: 'ns', name: 'p' } }), (a) => a.getPod('ns', 'p'), `GET ${podPath}`, 'Unauthorized'],
    ['a forbidden NAD read (403)', (s) => s.fault({ status: 403, message: 'forbidden by RBAC' }), (a) => a.getNad('ns', 'n'),
      'GET /apis/k8s.cni.cncf.io/v1/namespaces/ns/network-attachment-definitions/n', 'forbidden by RBAC'],
    ['a refused status patch (409)', (s) => s.fault({ status: 409 }), (a) => a.patchPodAnnotations('ns', 'p', { a: 'b' }), `PATCH ${podPath}/status`, 'Conflict'],
    ['a refused event (403)', (s) => s.fault({ status: 403 }), (a) => a.postPodEvent({ namespace: 'ns', name: 'p', uid: 'u' }, 'AddedInterface', 'm'),
      'POST /api/v1/namespaces/ns/events', 'Forbidden'],
    ['retries running out (503)', (s) => s.fault({ status: 503, times: Infinity }), (a) => a.getPod('ns', 'p'), `GET ${podPath}`, 'ServiceUnavailable'],
  ];
  it.each(failures)('names the server, the call and the credential source, never the token, on %s', async (_what, arrange, call, request, why) => {
    const wrongToken = 'wrong-token-5c4b3a';
    const { api, file } = apiFor({ tokenFile: true, ...(why === 'Unauthorized' ? { token: wrongToken } : {}) });
    arrange(server);
    const err = await asyncCniError(call(api));
    api.client.close();
    expect(err.code).toBe(11);
    expect(err.message).toContain(`kube-apiserver ${server.url}: ${request} failed: `);
    expect(err.message).toContain(why);
    expect(err.message).toContain(`credentials: kubeconfig ${file}, token file ${path.join(path.dirname(file), 'kubeconfig.token')}`);
    for (const secret of [server.token, wrongToken]) expect(`${err.message} ${err.details}`).not.toContain(secret);
  });
});

const MACVLAN_CONFIG = '{"cniVersion":"1.0.0","type":"macvlan","master":"eth1","ipam":{"type":"host-local","subnet":"10.250.161.0/24"}}';

describe('openNadDir', () => {
  it('reads every NAD of a multi-document YAML file, defaulting the namespace to "default"', async () => {
    const dir = tempDir();
    write(dir, 'nads.yaml', [
      'apiVersion: k8s.cni.cncf.io/v1\nkind: NetworkAttachmentDefinition\nmetadata:\n  name: macvlan-a\nspec:\n  config: \'{"type":"macvlan"}\'',
      'apiVersion: k8s.cni.cncf.io/v1\nkind: NetworkAttachmentDefinition\nmetadata:\n  name: ptp-b\n  namespace: team\nspec:\n  config: \'{"type":"ptp"}\'',
      '', // an empty document
    ].join('\n---\n'));
    const nads = await openNadDir(dir);
    expect(await nads.getNad('default', 'macvlan-a')).toMatchObject({ metadata: { name: 'macvlan-a', namespace: 'default' }, spec: { config: '{"type":"macvlan"}' } });
    expect(await nads.getNad('team', 'ptp-b')).toMatchObject({ metadata: { name: 'ptp-b', namespace: 'team' }, spec: { config: '{"type":"ptp"}' } });
    expect(await nads.getNad('default', 'ptp-b')).toBeUndefined();
    expect(await nads.getNad('team', 'macvlan-a')).toBeUndefined();
  });

  it('reads .json and .yml manifests and the items of a kind: List', async () => {
    const dir = tempDir();
    write(dir, 'one.json', JSON.stringify({ apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name: 'from-json', namespace: 'x' }, spec: { config: MACVLAN_CONFIG } }));
    write(dir, 'list.yml', yaml.dump({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name: 'listed-1' }, spec: { config: '{}' } },
        { apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name: 'listed-2', namespace: 'y' } },
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'not-a-nad' } },
      ],
    }));
    const nads = await openNadDir(dir);
    expect((await nads.getNad('x', 'from-json'))?.spec?.config).toBe(MACVLAN_CONFIG);
    expect((await nads.getNad('default', 'listed-1'))?.metadata).toMatchObject({ name: 'listed-1', namespace: 'default' });
    expect((await nads.getNad('y', 'listed-2'))?.metadata.name).toBe('listed-2');
    expect(await nads.getNad('default', 'not-a-nad')).toBeUndefined();
  });

  it('ignores other kinds, objects without a name and files that are not .yaml/.yml/.json', async () => {
    const dir = tempDir();
    write(dir, 'mixed.yaml', 'kind: ConfigMap\nmetadata:\n  name: cm\n---\nkind: NetworkAttachmentDefinition\nmetadata: {}\n---\nkind: Pod\nmetadata:\n  name: pod\n');
    write(dir, 'notes.txt', 'kind: NetworkAttachmentDefinition\nmetadata:\n  name: from-txt\n');
    write(dir, 'nad.yaml.bak', 'kind: NetworkAttachmentDefinition\nmetadata:\n  name: from-bak\n');
    const nads = await openNadDir(dir);
    for (const name of ['cm', 'pod', 'from-txt', 'from-bak']) expect(await nads.getNad('default', name)).toBeUndefined();
  });

  it('fails only the lookups of NADs an invalid YAML file names, with code 6 naming the file', async () => {
    const dir = tempDir();
    write(dir, 'a-good.yaml', 'kind: NetworkAttachmentDefinition\nmetadata:\n  name: good\n');
    const bad = write(dir, 'b-bad.yaml', 'kind: NetworkAttachmentDefinition\nmetadata:\n  name: broken\n  labels: [unclosed\n');
    const nads = await openNadDir(dir);
    expect((await nads.getNad('default', 'good'))?.metadata.name).toBe('good');
    const err = await asyncCniError(nads.getNad('default', 'broken'));
    expect(err.code).toBe(6);
    expect(err.message).toContain('NetworkAttachmentDefinition default/broken');
    expect(err.message).toContain(`nadDir manifest ${bad} cannot be parsed`);
    expect(await nads.getNad('default', 'elsewhere')).toBeUndefined(); // not in the bad file's text: simply not found
  });

  it('fails every lookup of a NAD no readable manifest holds, with code 5 naming an unreadable file', async () => {
    const dir = tempDir();
    write(dir, 'a-good.yaml', 'kind: NetworkAttachmentDefinition\nmetadata:\n  name: good\n');
    fs.mkdirSync(path.join(dir, 'b-dir.yaml')); // reading it fails (EISDIR), as an unreadable file would
    const nads = await openNadDir(dir);
    expect((await nads.getNad('default', 'good'))?.metadata.name).toBe('good');
    const err = await asyncCniError(nads.getNad('default', 'other'));
    expect(err.code).toBe(5);
    expect(err.message).toContain(`nadDir manifest ${path.join(dir, 'b-dir.yaml')} cannot be read`);
  });

  it('fails with code 5 naming the directory when it does not exist', async () => {
    const dir = path.join(tempDir(), 'missing');
    const err = await asyncCniError(openNadDir(dir));
    expect(err.code).toBe(5);
    expect(err.message).toContain(dir);
  });
});

describe('networkFromNad', () => {
  function braidConfig(confDir: string): BraidConfig {
    return { cniVersion: '1.0.0', confDir } as BraidConfig;
  }

  function nadObject(name: string, config: string | undefined, annotations?: Record<string, string>): NadObject {
    return { metadata: { name, namespace: 'team', ...(annotations ? { annotations } : {}) }, ...(config !== undefined ? { spec: { config } } : {}) };
  }

  it('gives a spec.config without a name the NAD\'s name', () => {
    const { config, resourceName } = networkFromNad(nadObject('macvlan-a', MACVLAN_CONFIG), braidConfig(tempDir()));
    expect(config.name).toBe('macvlan-a');
    expect(config.cniVersion).toBe('1.0.0');
    expect(config.plugins).toStrictEqual([{ ...JSON.parse(MACVLAN_CONFIG), name: 'macvlan-a' }]);
    expect(resourceName).toBeUndefined();
  });

  it('keeps the name a spec.config has, and fills a missing cniVersion with braid\'s', () => {
    const { config } = networkFromNad(nadObject('nad-name', '{"name":"own-name","type":"ptp"}'), braidConfig(tempDir()));
    expect(config.name).toBe('own-name');
    expect(config.cniVersion).toBe('1.0.0');
  });

  it('takes a conflist in spec.config', () => {
    const list = { cniVersion: '0.4.0', plugins: [{ type: 'macvlan' }, { type: 'tuning', capabilities: { mac: true } }] };
    const { config } = networkFromNad(nadObject('chain', JSON.stringify(list)), braidConfig(tempDir()));
    expect(config).toMatchObject({ name: 'chain', cniVersion: '0.4.0', plugins: list.plugins });
  });

  it.each([[undefined], [''], ['  \n ']])('falls back to the confDir conf named like the NAD when spec.config is %j', (spec) => {
    const confDir = tempDir();
    write(confDir, '10-other.conf', '{"cniVersion":"1.0.0","name":"other","type":"bridge"}');
    write(confDir, '20-storage.conf', '{"cniVersion":"0.4.0","name":"storage","type":"macvlan","master":"eth1"}');
    const { config } = networkFromNad(nadObject('storage', spec), braidConfig(confDir));
    expect(config).toMatchObject({ name: 'storage', cniVersion: '0.4.0', plugins: [{ type: 'macvlan', master: 'eth1' }] });
  });

  it('fails with code 7 naming the NAD and confDir when spec.config is empty and no conf has its name', () => {
    const confDir = tempDir();
    const err = cniError(() => networkFromNad(nadObject('storage', ''), braidConfig(confDir)));
    expect(err.code).toBe(7);
    expect(err.message).toContain('NetworkAttachmentDefinition team/storage');
    expect(err.message).toContain(confDir);
  });

  it('fails with code 7 naming the NAD when spec.config is not valid JSON', () => {
    const err = cniError(() => networkFromNad(nadObject('broken', '{"type": "macvlan",'), braidConfig(tempDir())));
    expect(err.code).toBe(7);
    expect(err.message).toContain('NetworkAttachmentDefinition team/broken');
    expect(err.message).toContain('not valid JSON');
  });

  it('fails naming the NAD when spec.config is JSON but no network (no type)', () => {
    const err = cniError(() => networkFromNad(nadObject('typeless', '{"cniVersion":"1.0.0"}'), braidConfig(tempDir())));
    expect(err.code).toBe(7);
    expect(err.message).toContain('NetworkAttachmentDefinition team/typeless');
  });

  it.each([
    ['an object', { cniVersion: '1.0.0', type: 'macvlan' }, 'an object'],
    ['a list', [{ type: 'macvlan' }], 'a list'],
    ['a number', 42, 'a number'],
  ])('fails with code 7 naming the NAD when spec.config (from the API) is %s instead of a string', (_what, spec, got) => {
    const nad = { metadata: { name: 'objcfg', namespace: 'team' }, spec: { config: spec } } as NadObject;
    const err = cniError(() => networkFromNad(nad, braidConfig(tempDir())));
    expect(err.code).toBe(7);
    expect(err.message).toBe(`NetworkAttachmentDefinition team/objcfg: spec.config must be a string holding the CNI config as JSON text, got ${got}`);
  });

  it('names the nadDir manifest too when its spec.config is not a string (YAML without the quotes or "|")', async () => {
    const dir = tempDir();
    const file = write(dir, 'objcfg.yaml', 'kind: NetworkAttachmentDefinition\nmetadata:\n  name: objcfg\n  namespace: team\nspec:\n  config:\n    cniVersion: 1.0.0\n    type: macvlan\n');
    const nad = await (await openNadDir(dir)).getNad('team', 'objcfg');
    const err = cniError(() => networkFromNad(nad!, braidConfig(tempDir())));
    expect(err.code).toBe(7);
    expect(err.message).toContain(`NetworkAttachmentDefinition team/objcfg (${file}): spec.config must be a string`);
  });

  it('returns the k8s.v1.cni.cncf.io/resourceName annotation', () => {
    const nad = nadObject('sriov', '{"type":"sriov"}', { [RESOURCE_NAME_ANNOTATION]: 'intel.com/sriov_netdevice' });
    expect(networkFromNad(nad, braidConfig(tempDir())).resourceName).toBe('intel.com/sriov_netdevice');
  });
});
