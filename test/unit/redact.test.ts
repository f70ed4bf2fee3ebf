import { describe, expect, it } from 'vitest';
import { isSecretKey, redact, redactText, REDACTED } from '../../src/redact';

const TOKEN = 'braid-test-0123456789abcdef01234567';
const JWT = 'eyJhbGciOiJSUzI1NiIsImtpZCI6IjEyMyJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2lnbmF0dXJlLXBhcnQ';

describe('isSecretKey', () => {
  it.each([
    'token', 'Token', 'access-token', 'id_token', 'bearerToken', 'password', 'PASSWORD', 'dbPassword', 'passwd',
    'secret', 'client-secret', 'clientSecret', 'client-key-data', 'privateKey', 'private_key', 'apiKey', 'apikey',
    'psk', 'credentials', 'auth', 'Authorization', 'auth-provider', 'cookie', 'keys', 'tokens', 'passphrase',
  ])('treats %s as a secret', (key) => {
    expect(isSecretKey(key)).toBe(true);
  });

  it.each([
    'tokenFile', 'token-file', 'keyFile', 'passwordPath', 'secretName', 'secretRef', 'kubeconfig', 'monkey', 'keepalive',
    'certificate-authority-data', 'client-certificate-data', 'master', 'ipam', 'capabilities', 'ips', 'mac', 'type',
    'pciBusID', 'deviceID', 'name', 'subnet', 'dataDir', 'tokenizer', 'keystone', 'isGateway',
  ])('leaves %s readable', (key) => {
    expect(isSecretKey(key)).toBe(false);
  });
});

describe('redact', () => {
  it('replaces secret values at any depth and of any type, and keeps the rest of the document as it was', () => {
    const doc = {
      cniVersion: '1.0.0',
      type: 'macvlan',
      master: 'eth1',
      token: TOKEN,
      args: { cni: { password: 12345, nested: [{ 'client-key-data': 'LS0tLS1CRUdJTg==' }] } },
      credentials: { user: 'u', pass: 'p' },
      tokenFile: '/var/run/secrets/token',
      ipam: { type: 'host-local', subnet: '10.250.0.0/24' },
      empty: null,
    };
    expect(redact(doc)).toEqual({
      cniVersion: '1.0.0',
      type: 'macvlan',
      master: 'eth1',
      token: REDACTED,
      args: { cni: { password: REDACTED, nested: [{ 'client-key-data': REDACTED }] } },
      credentials: REDACTED,
      tokenFile: '/var/run/secrets/token',
      ipam: { type: 'host-local', subnet: '10.250.0.0/24' },
      empty: null,
    });
    expect(doc.token).toBe(TOKEN); // a copy: the delegate still gets the real value
  });

  it('redacts secret-shaped strings under innocent keys', () => {
    const out = JSON.stringify(redact({ header: `Bearer ${TOKEN}`, note: `sa ${JWT} here`, list: [`Basic ${TOKEN}`] }));
    expect(out).not.toContain(TOKEN);
    expect(out).not.toContain(JWT.slice(0, 20));
    expect(out).toContain(`Bearer ${REDACTED}`);
  });
});

describe('redactText', () => {
  it.each([
    ['a bearer header', `Authorization: Bearer ${TOKEN}`],
    ['a lower-case bearer', `auth bearer ${TOKEN} sent`],
    ['a JWT alone', `token was ${JWT}`],
    ['a URL password', `https://admin:${TOKEN}@10.0.0.1:6443/api`],
    ['a key=value pair', `K8S_POD_NAME=x;API_TOKEN=${TOKEN};IgnoreUnknown=1`],
    ['a JSON member', `config {"name":"x","token":"${TOKEN}","type":"y"}`],
    ['an escaped JSON member', JSON.stringify(JSON.stringify({ password: TOKEN }))],
    ['a YAML line', `users:\n- name: u\n  user:\n    token: ${TOKEN}\n`],
    ['a PEM private key', `key:\n-----BEGIN RSA PRIVATE KEY-----\n${TOKEN}\n-----END RSA PRIVATE KEY-----\n`],
  ])('hides %s', (_what, text) => {
    expect(redactText(text)).not.toContain(TOKEN);
    expect(redactText(text)).not.toContain(JWT.slice(0, 20));
    expect(redactText(text)).toContain(REDACTED);
  });

  it('leaves ordinary messages alone', () => {
    const msg = 'kube-apiserver https://10.0.0.1:6443: GET /api/v1/namespaces/a/pods/b failed: 503 (credentials: kubeconfig /etc/k, token file /t)';
    expect(redactText(msg)).toBe(msg);
  });
});
