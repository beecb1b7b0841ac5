import type { AdminResponse, AdminRoute } from '@trellis/plugin-sdk';

/**
 * SMI TrafficMetrics (`metrics.smi-spec.io/v1alpha1`) from Prometheus queries over Envoy's standard stats
 * (`envoy_cluster_upstream_rq_xx`, `envoy_cluster_upstream_rq_time`). The sidecars' scrape job must label each
 * target with the workload it belongs to: `source_namespace`, `source_kind` (`Deployment`, `Pod`, ...) and
 * `source_name`, as OSM's Prometheus configuration did.
 */
export interface TrafficMetricsOptions {
  /** The Prometheus server's base URL (`http://prometheus:9090`). */
  readonly prometheusUrl: string;
  /** The window the figures cover, in ms. */
  readonly windowMs: number;
  readonly fetch?: typeof fetch;
}

const API_VERSION = 'metrics.smi-spec.io/v1alpha1';
const KINDS: Readonly<Record<string, string>> = {
  pods: 'Pod',
  deployments: 'Deployment',
  statefulsets: 'StatefulSet',
  daemonsets: 'DaemonSet',
  serviceaccounts: 'ServiceAccount',
  namespaces: 'Namespace',
};
const DNS = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
/** Inbound: Trellis's local clusters `<ns>/<svc>|<port>|local`; outbound: `<ns>/<svc>|<port>`. */
const LOCAL = '.+\\\\|local';
const OUTBOUND = '[^/|]+/[^/|]+\\\\|[0-9]+';

interface Resource {
  kind: string;
  namespace?: string;
  name: string;
}

type Sample = { metric: Record<string, string>; value: [number, string] };

export function trafficMetricsRoutes(o: TrafficMetricsOptions): AdminRoute[] {
  const f = o.fetch ?? fetch;
  const w = `${Math.max(1, Math.round(o.windowMs / 1000))}s`;
  const query = async (promql: string): Promise<Sample[]> => {
    const r = await f(`${o.prometheusUrl.replace(/\/+$/, '')}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await r.json()) as { status?: string; error?: string; data?: { result?: Sample[] } };
    if (body.status !== 'success') throw new Error(`Prometheus query failed: ${body.error ?? `HTTP ${r.status}`}`);
    return body.data?.result ?? [];
  };

  const resolve = (params: Readonly<Record<string, string>>): { resource: Resource; selector: string } | AdminResponse => {
    const kind = KINDS[params['kind'] ?? ''];
    const ns = params['namespace'] ?? '';
    const name = params['name'] ?? '';
    if (!kind) return { status: 404, body: { error: `unknown resource kind "${params['kind']}"; one of ${Object.keys(KINDS).join(', ')}` } };
    if (!DNS.test(ns) || !DNS.test(name)) return { status: 400, body: { error: 'namespace and name must be DNS names' } };
    const selector = kind === 'Namespace' ? `source_namespace="${name}"` : `source_namespace="${ns}",source_kind="${kind}",source_name="${name}"`;
    return { resource: kind === 'Namespace' ? { kind, name } : { kind, namespace: ns, name }, selector };
  };

  /** success_count, failure_count and p50/p90/p99 latency (ms) per group (`by`), over the window. */
  const figures = async (sel: string, clusters: string, by: string) => {
    const base = `${sel},envoy_cluster_name=~"${clusters}"`;
    const [ok, failed, ...quantiles] = await Promise.all([
      query(`sum by (${by}) (increase(envoy_cluster_upstream_rq_xx{${base},envoy_response_code_class!="5"}[${w}]))`),
      query(`sum by (${by}) (increase(envoy_cluster_upstream_rq_xx{${base},envoy_response_code_class="5"}[${w}]))`),
      ...[0.5, 0.9, 0.99].map((q) => query(`histogram_quantile(${q}, sum by (le, ${by}) (rate(envoy_cluster_upstream_rq_time_bucket{${base}}[${w}])))`)),
    ]);
    const groups = new Map<string, { name: string; unit?: string; value: string }[]>();
    const key = (s: Sample) => (by === 'source_namespace' ? '' : (s.metric[by] ?? ''));
    const put = (s: Sample, name: string, unit?: string, round = true) => {
      const v = Number(s.value[1]);
      if (!Number.isFinite(v)) return;
      const list = groups.get(key(s)) ?? [];
      groups.set(key(s), list);
      list.push({ name, ...(unit ? { unit } : {}), value: round ? String(Math.round(v)) : String(Math.round(v * 1000) / 1000) });
    };
    (['p50', 'p90', 'p99'] as const).forEach((p, i) => quantiles[i]!.forEach((s) => put(s, `${p}_response_latency`, 'ms', false)));
    ok.forEach((s) => put(s, 'success_count'));
    failed.forEach((s) => put(s, 'failure_count'));
    for (const list of groups.values()) {
      for (const n of ['success_count', 'failure_count']) if (!list.some((m) => m.name === n)) list.push({ name: n, value: '0' });
    }
    return groups;
  };

  const item = (resource: Resource, metrics: { name: string; unit?: string; value: string }[], edge?: unknown) => ({
    kind: 'TrafficMetrics',
    apiVersion: API_VERSION,
    metadata: { name: resource.name, ...(resource.namespace ? { namespace: resource.namespace } : {}), creationTimestamp: new Date().toISOString() },
    timestamp: new Date().toISOString(),
    window: w,
    resource,
    ...(edge ? { edge } : {}),
    metrics,
  });

  return [
    {
      method: 'GET',
      path: 'traffic-metrics/namespaces/:namespace/:kind/:name',
      handler: async ({ params }) => {
        const r = resolve(params);
        if ('body' in r) return r;
        const groups = await figures(r.selector, LOCAL, 'source_namespace');
        return { body: item(r.resource, groups.get('') ?? [{ name: 'success_count', value: '0' }, { name: 'failure_count', value: '0' }]) };
      },
    },
    {
      method: 'GET',
      path: 'traffic-metrics/namespaces/:namespace/:kind/:name/edges',
      handler: async ({ params }) => {
        const r = resolve(params);
        if ('body' in r) return r;
        const groups = await figures(r.selector, OUTBOUND, 'envoy_cluster_name');
        const items = [...groups]
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([cluster, metrics]) => {
            const m = /^([^/]+)\/([^|]+)\|/.exec(cluster);
            const to: Resource = { kind: 'Service', namespace: m?.[1] ?? '', name: m?.[2] ?? cluster };
            return item(r.resource, metrics, { direction: 'to', side: 'client', resource: to });
          });
        return { body: { kind: 'TrafficMetricsList', apiVersion: API_VERSION, resource: r.resource, items } };
      },
    },
  ];
}
