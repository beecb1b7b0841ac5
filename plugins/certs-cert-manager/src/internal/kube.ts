/**
 * The Kubernetes client: @kubernetes/client-node's KubeConfig, CustomObjectsApi (CertificateRequests) and
 * CoreV1Api (the trust bundle's Secret or ConfigMap). The kubeconfig lookup repeats source-kubernetes' ten
 * lines on purpose: plugins import only the SDK, and the SDK stays free of the Kubernetes client.
 */
import { ApiException, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';

export interface KubeconfigOptions {
  /** A kubeconfig path; absent: in-cluster service-account config, then $KUBECONFIG, then ~/.kube/config. */
  readonly kubeconfig?: string;
  readonly context?: string;
}

export interface KubeApis {
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;
  /** The kubeconfig context's namespace, if any. */
  readonly namespace: string | undefined;
}

export function kubeApis(opts: KubeconfigOptions): KubeApis {
  const kc = new KubeConfig();
  if (opts.kubeconfig !== undefined) kc.loadFromFile(opts.kubeconfig);
  else if (process.env.KUBERNETES_SERVICE_HOST && process.env.KUBERNETES_SERVICE_PORT) kc.loadFromCluster();
  else kc.loadFromDefault();
  if (opts.context !== undefined) kc.setCurrentContext(opts.context);
  if (!kc.getCurrentCluster()) throw new Error(`no cluster in the kubeconfig's current context${opts.context !== undefined ? ` (${opts.context})` : ''}`);
  const ctx = kc.getContextObject(kc.getCurrentContext());
  return { core: kc.makeApiClient(CoreV1Api), custom: kc.makeApiClient(CustomObjectsApi), namespace: ctx?.namespace };
}

/** The HTTP status of a failed API call (0: no answer). */
export const statusOf = (err: unknown): number => (err instanceof ApiException ? err.code : 0);

/** What failed, from the API server's Status message only (the client's error text carries headers and bodies). */
export function apiErrorText(err: unknown): string {
  if (!(err instanceof ApiException)) return (err as Error).message ?? String(err);
  let message: unknown;
  try {
    const body: unknown = typeof err.body === 'string' ? JSON.parse(err.body) : err.body;
    message = (body as { message?: unknown } | undefined)?.message;
  } catch {
    message = undefined;
  }
  return `${err.code}${typeof message === 'string' ? ` ${message}` : ''}`;
}
