/**
 * The Kubernetes client: CustomObjectsApi (CertificateRequests) and CoreV1Api (the trust bundle's Secret or
 * ConfigMap) on the SDK's shared kubeconfig lookup (`@trellis/plugin-sdk/kubernetes`).
 */
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { contextNamespace, loadKubeConfig, type KubeconfigOptions } from '@trellis/plugin-sdk/kubernetes';

export type { KubeconfigOptions } from '@trellis/plugin-sdk/kubernetes';
export { apiErrorText, apiStatusOf as statusOf } from '@trellis/plugin-sdk/kubernetes';

export interface KubeApis {
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;
  /** The kubeconfig context's namespace, if any. */
  readonly namespace: string | undefined;
  /** The loaded kubeconfig (for watches). */
  readonly kc: KubeConfig;
}

export function kubeApis(opts: KubeconfigOptions): KubeApis {
  const kc = loadKubeConfig(opts);
  return { core: kc.makeApiClient(CoreV1Api), custom: kc.makeApiClient(CustomObjectsApi), namespace: contextNamespace(kc), kc };
}
