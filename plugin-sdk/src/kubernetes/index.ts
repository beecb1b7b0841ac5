/**
 * `@trellis/plugin-sdk/kubernetes`: the one way Trellis finds its Kubernetes API server, for the plugins and
 * the core alike. A separate entry with `@kubernetes/client-node` as an optional peer dependency, so a plugin
 * that never talks to an API server never loads the client (the main SDK entry does not import this file).
 *
 * Resolution order: an explicit kubeconfig path; else the in-cluster service account (KUBERNETES_SERVICE_HOST
 * and _PORT set); else `$KUBECONFIG` (one or more paths, merged as kubectl does); else `~/.kube/config`. Then
 * `context`, if given, must name a context of that kubeconfig. Every failure is a KubeconfigError that says
 * which kubeconfig was read and why it is unusable. @public
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ApiException, KubeConfig } from '@kubernetes/client-node';

export interface KubeconfigOptions {
  /** A kubeconfig path; absent: in-cluster service account, then $KUBECONFIG, then ~/.kube/config. */
  readonly kubeconfig?: string;
  /** A context of the kubeconfig (default: its current context). */
  readonly context?: string;
}

/** The kubeconfig cannot be used: none found, unreadable, or no cluster for the context. */
export class KubeconfigError extends Error {
  override readonly name = 'KubeconfigError';
}

/** Which kubeconfig `loadKubeConfig` reads for `opts` (the environment decides when no path is given). */
export function kubeconfigOrigin(opts: KubeconfigOptions = {}, env: NodeJS.ProcessEnv = process.env): { kind: 'file' | 'in-cluster' | 'env' | 'home'; path?: string } {
  if (opts.kubeconfig !== undefined) return { kind: 'file', path: opts.kubeconfig };
  if (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT) return { kind: 'in-cluster' };
  if (env.KUBECONFIG) return { kind: 'env', path: env.KUBECONFIG };
  return { kind: 'home', path: join(homedir(), '.kube', 'config') };
}

const describe = (o: ReturnType<typeof kubeconfigOrigin>): string =>
  o.kind === 'in-cluster' ? 'the in-cluster service account' : o.kind === 'env' ? `$KUBECONFIG (${o.path ?? ''})` : `kubeconfig ${o.path ?? ''}`;

/** A KubeConfig for `opts`, in the resolution order above; throws a KubeconfigError. */
export function loadKubeConfig(opts: KubeconfigOptions = {}): KubeConfig {
  const origin = kubeconfigOrigin(opts);
  const what = describe(origin);
  const kc = new KubeConfig();
  try {
    if (origin.kind === 'file') kc.loadFromFile(origin.path ?? '');
    else if (origin.kind === 'in-cluster') kc.loadFromCluster();
    else if (origin.kind === 'env') kc.loadFromDefault(); // merges every path of $KUBECONFIG, as kubectl does
    else if (existsSync(origin.path ?? '')) kc.loadFromFile(origin.path ?? '');
    else throw new KubeconfigError(`no Kubernetes API server configured: not in a cluster (KUBERNETES_SERVICE_HOST unset), $KUBECONFIG unset, and ${origin.path ?? ''} does not exist`);
  } catch (err) {
    if (err instanceof KubeconfigError) throw err;
    throw new KubeconfigError(`loading ${what}: ${(err as Error).message}`);
  }
  if (opts.context !== undefined) {
    if (!kc.getContextObject(opts.context))
      throw new KubeconfigError(`context "${opts.context}" is not in ${what} (it has: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'})`);
    kc.setCurrentContext(opts.context);
  }
  if (!kc.getCurrentCluster())
    throw new KubeconfigError(`no cluster in ${what} for context "${kc.getCurrentContext() || '(none)'}"`);
  return kc;
}

/** The kubeconfig context's namespace, if any. */
export function contextNamespace(kc: KubeConfig): string | undefined {
  return kc.getContextObject(kc.getCurrentContext())?.namespace;
}

/** The HTTP status of a failed client-node call (0: no answer). */
export const apiStatusOf = (err: unknown): number => (err instanceof ApiException ? err.code : 0);

/**
 * What failed, from the API server's Status message only: the client's own error text includes response
 * headers and bodies, which must not end up in logs (next to a Secret, say).
 */
export function apiErrorText(err: unknown): string {
  if (!(err instanceof ApiException)) return (err as Error | undefined)?.message?.split('\n')[0] ?? String(err);
  let message: unknown;
  try {
    const body: unknown = typeof err.body === 'string' ? JSON.parse(err.body) : err.body;
    message = (body as { message?: unknown } | undefined)?.message;
  } catch {
    message = undefined;
  }
  return `${err.code}${typeof message === 'string' ? ` ${message}` : ''}`;
}
