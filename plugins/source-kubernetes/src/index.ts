/**
 * `use: kubernetes` — the Kubernetes API server as a mesh source: supervised informers for Namespaces,
 * Services, Endpoints, EndpointSlices, Pods, ServiceAccounts, the SMI CRDs, MeshConfig (Trellis' and OSM's
 * group) and the policy kinds plugins contribute; mesh membership by namespace label.
 * Config: `kubeconfig`, `context`, `resyncSeconds`, `staleAfterSeconds`, `qps`, `burst`, `writeRouteStatus`,
 * `webhookConfiguration`. Route status goes back to the routes' `/status` (route-status-writer.ts).
 * It also provides the core's cluster services (`clusterServices`): the injector's bootstrap Secrets and webhook
 * `caBundle`, and the identity service's TokenReviews, on the same API server and credentials.
 */
import { clusterServices, coreServices, definePlugin, extensionPoints, s } from '@trellis/plugin-sdk';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { ApiClient, loadKubeConfig } from './internal/api.ts';
import { bootstrapSecretWriter, tokenReviewer, webhookCaBundle } from './internal/cluster-services.ts';
import { watchedKinds } from './internal/kinds.ts';
import { KubernetesSource } from './internal/kubernetes-source.ts';

export { KubernetesSource, MEMBERSHIP_LABELS } from './internal/kubernetes-source.ts';
export type { KubernetesSourceOptions } from './internal/kubernetes-source.ts';
export type { ReflectorHealth, ReflectorState } from './internal/reflector.ts';
export { BUILTIN_KINDS, watchedKinds } from './internal/kinds.ts';
export type { WatchedKind } from './internal/kinds.ts';
export { reduce } from './internal/reduce.ts';
export { ApiClient, loadKubeConfig } from './internal/api.ts';
export { RouteStatusWriter } from './internal/route-status-writer.ts';
export { apiReason, bootstrapSecretWriter, tokenReviewer, webhookCaBundle } from './internal/cluster-services.ts';
export type { WebhookCaBundle } from './internal/cluster-services.ts';

/** `~/...` is the home directory; other relative paths are relative to the config file. */
function configPath(p: string, baseDir: string): string {
  if (p === '~' || p.startsWith('~/')) return join(homedir(), p.slice(1));
  return isAbsolute(p) ? p : resolve(baseDir, p);
}

export const kubernetesSourceConfig = s.object({
  kubeconfig: s.optional(
    s.string({ minLength: 1, description: 'kubeconfig file (relative to the config file, `~/` for the home directory); absent: in-cluster service account, then `$KUBECONFIG`, then `~/.kube/config`' }),
  ),
  context: s.optional(s.string({ minLength: 1, description: "kubeconfig context to use (default: the kubeconfig's current context)" })),
  resyncSeconds: s.default(s.number({ min: 0, description: 'full re-list of every kind this often, applying only differences (0 = never)' }), 600),
  staleAfterSeconds: s.default(
    s.number({ min: 0.1, description: 'a watch with no event or bookmark for this long is presumed dead and re-listed (bookmarks are requested)' }),
    120,
  ),
  qps: s.default(s.number({ min: 0.1, description: 'API requests per second (lists, discovery, watch starts)' }), 20),
  burst: s.default(s.number({ integer: true, min: 1, description: 'API requests allowed in a burst above `qps`' }), 40),
  writeRouteStatus: s.default(
    s.boolean({ description: 'write Gateway API route status (Accepted, ResolvedRefs per Service parent) to HTTPRoute/GRPCRoute `status.parents[]` under `trellismesh.io/gamma-controller`' }),
    true,
  ),
  webhookConfiguration: s.optional(
    s.string({ minLength: 1, description: "MutatingWebhookConfiguration whose caBundle the controller keeps current (default `trellis-injector-<mesh name>`, as `trellis install` names it)" }),
  ),
});

export default definePlugin({
  name: 'kubernetes',
  kind: 'source',
  version: '0.1.0',
  coreRange: '^0.1.0',
  stability: 'alpha',
  description: 'Watches the Kubernetes API server (namespaces labelled trellis.io/monitored-by: <mesh>).',
  configSchema: kubernetesSourceConfig,
  deps: { policies: coreServices.policies, metrics: coreServices.metrics, routeStatus: coreServices.routeStatus },
  extends: [extensionPoints.debugPages],
  provides: [clusterServices.bootstrapSecrets, clusterServices.webhookCaBundle, clusterServices.tokenReviewer],
  create(ctx) {
    const { config } = ctx;
    const kubeconfig = config.kubeconfig === undefined ? undefined : configPath(config.kubeconfig, ctx.baseDir);
    const kc = loadKubeConfig({ ...(kubeconfig !== undefined && { kubeconfig }), ...(config.context !== undefined && { context: config.context }) });
    const staleAfterMs = config.staleAfterSeconds * 1000;
    const api = new ApiClient(kc, { qps: config.qps, burst: config.burst, requestTimeoutMs: Math.max(5000, staleAfterMs) });
    const m = ctx.deps.metrics;
    // The gauges' collector reads the source created below.
    const ref: { source?: KubernetesSource } = {};
    const metrics = {
      restarts: m.counter({ name: 'trellis_kubernetes_informer_restarts_total', help: 'Informer re-lists after a watch failed, expired (410) or went silent', labelNames: ['kind', 'reason'] }),
      objects: m.gauge({ name: 'trellis_kubernetes_informer_objects', help: 'Objects an informer holds (every namespace)', labelNames: ['kind'], collect: () => ref.source?.collect() }),
      lastEventAge: m.gauge({ name: 'trellis_kubernetes_informer_last_event_age_seconds', help: 'Seconds since an informer last saw an event, bookmark or list', labelNames: ['kind'] }),
      synced: m.gauge({ name: 'trellis_kubernetes_informer_synced', help: '1 once an informer completed its first full list', labelNames: ['kind'] }),
    };
    const caBundle = webhookCaBundle(kc, () => config.webhookConfiguration ?? `trellis-injector-${ctx.mesh.name}`, ctx.logger);
    ctx.provide(clusterServices.bootstrapSecrets, bootstrapSecretWriter(kc));
    ctx.provide(clusterServices.webhookCaBundle, caBundle);
    ctx.provide(clusterServices.tokenReviewer, tokenReviewer(kc));
    const source = new KubernetesSource({
      api,
      kinds: watchedKinds(ctx.deps.policies.kinds?.() ?? []),
      meshName: () => ctx.mesh.name,
      sink: ctx.sink,
      logger: ctx.logger,
      source: 'kubernetes',
      staleAfterMs,
      resyncMs: config.resyncSeconds * 1000,
      metrics,
      alsoStop: [caBundle],
      ...(config.writeRouteStatus && { routeStatus: ctx.deps.routeStatus }),
    });
    ref.source = source;
    ctx.extend(extensionPoints.debugPages, {
      name: 'kubernetes',
      get: () => ({ server: api.server, informers: source.health(), ...(source.statusWriter && { routeStatus: { controllerName: source.statusWriter.controllerName, idle: source.statusWriter.idle, ...source.statusWriter.stats } }) }),
    });
    return source;
  },
});
