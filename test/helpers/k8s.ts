import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { startApiServer, type ApiServer } from './apiserver.mjs';

/** The pod annotation that selects secondary networks (NAD spec §4.1). */
export const NETWORKS = 'k8s.v1.cni.cncf.io/networks';
/** The pod annotation braid writes the attachments' status to (NAD spec §5). */
export const NETWORK_STATUS = 'k8s.v1.cni.cncf.io/network-status';
/** The NAD annotation naming the device-plugin resource its devices come from. */
export const RESOURCE_NAME = 'k8s.v1.cni.cncf.io/resourceName';
/** The capability through which a CRI runtime hands the pod's annotations to the plugin. */
export const POD_ANNOTATIONS = 'io.kubernetes.cri.pod-annotations';

/** The calling file's test kube-apiserver: started before its tests and handed to `set`, reset after each, stopped after all. */
export function useApiServer(set: (api: ApiServer) => void): void {
  let api: ApiServer | undefined;
  beforeAll(async () => {
    api = await startApiServer();
    set(api);
  });
  afterEach(() => {
    api?.reset();
  });
  afterAll(async () => {
    await api?.stop();
  });
}

/** A pod's network-status annotation in `api`, parsed (asserts the pod has one). */
export function networkStatusOf(api: ApiServer, namespace: string, name: string): any[] {
  const text = api.pod(namespace, name)?.metadata.annotations?.[NETWORK_STATUS];
  expect(text, 'network-status annotation').toBeTypeOf('string');
  return JSON.parse(text!);
}
