/**
 * The Kubernetes client for the CA Secret: @kubernetes/client-node's KubeConfig and CoreV1Api.
 * The kubeconfig lookup repeats source-kubernetes' ten lines on purpose: plugins import only the SDK, and the
 * SDK stays free of the Kubernetes client (most plugins never talk to an API server).
 */
import { ApiException, CoreV1Api, KubeConfig } from '@kubernetes/client-node';

export interface KubeconfigOptions {
  /** A kubeconfig path; absent: in-cluster service-account config, then $KUBECONFIG, then ~/.kube/config. */
  readonly kubeconfig?: string;
  readonly context?: string;
}

export function coreApi(opts: KubeconfigOptions): CoreV1Api {
  const kc = new KubeConfig();
  if (opts.kubeconfig !== undefined) kc.loadFromFile(opts.kubeconfig);
  else if (process.env.KUBERNETES_SERVICE_HOST && process.env.KUBERNETES_SERVICE_PORT) kc.loadFromCluster();
  else kc.loadFromDefault();
  if (opts.context !== undefined) kc.setCurrentContext(opts.context);
  if (!kc.getCurrentCluster()) throw new Error(`no cluster in the kubeconfig's current context${opts.context !== undefined ? ` (${opts.context})` : ''}`);
  return kc.makeApiClient(CoreV1Api);
}

/** The HTTP status of a failed API call (0: no answer). */
export const statusOf = (err: unknown): number => (err instanceof ApiException ? err.code : 0);

/**
 * What failed, from the API server's Status message only: the client's own error text includes response
 * headers and bodies, which must not end up in logs next to a Secret.
 */
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
