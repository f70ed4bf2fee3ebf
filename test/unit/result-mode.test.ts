import { describe, expect, it } from 'vitest';
import { effectiveResultMode } from '../../src/result/mode';

describe('effectiveResultMode', () => {
  it('keeps a configured mode whatever CNI_ARGS holds', () => {
    expect(effectiveResultMode('merged', 'IgnoreUnknown=1;K8S_POD_NAMESPACE=a;K8S_POD_NAME=b')).toBe('merged');
    expect(effectiveResultMode('clusterNetwork', '')).toBe('clusterNetwork');
  });

  it.each([
    'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=abc;K8S_POD_UID=u',
    'K8S_POD_NAME=web-0',
    'IgnoreUnknown=1;K8S_POD_INFRA_CONTAINER_ID=abc',
  ])('defaults to clusterNetwork when CNI_ARGS has a K8S_POD_* key (%s)', (args) => {
    expect(effectiveResultMode(undefined, args)).toBe('clusterNetwork');
  });

  it.each(['', 'IgnoreUnknown=1', 'IP=10.250.1.2;K8S_POD=x'])('defaults to merged without a K8S_POD_* key (%j)', (args) => {
    expect(effectiveResultMode(undefined, args)).toBe('merged');
  });
});
