/**
 * The Kubernetes client for the CA Secret: CoreV1Api on the SDK's shared kubeconfig lookup
 * (`@trellis/plugin-sdk/kubernetes`, the same order and errors as every other Kubernetes user in Trellis).
 */
import { CoreV1Api } from '@kubernetes/client-node';
import { loadKubeConfig, type KubeconfigOptions } from '@trellis/plugin-sdk/kubernetes';

export type { KubeconfigOptions } from '@trellis/plugin-sdk/kubernetes';
export { apiErrorText, apiStatusOf as statusOf } from '@trellis/plugin-sdk/kubernetes';

export function coreApi(opts: KubeconfigOptions): CoreV1Api {
  return loadKubeConfig(opts).makeApiClient(CoreV1Api);
}
