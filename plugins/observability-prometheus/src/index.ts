import { coreServices, definePlugin, extensionPoints, s } from '@trellis/plugin-sdk';
import { MetricsListener } from './listener.ts';
import { trafficMetricsRoutes } from './traffic-metrics.ts';

export { MetricsListener } from './listener.ts';
export { trafficMetricsRoutes } from './traffic-metrics.ts';
export type { TrafficMetricsOptions } from './traffic-metrics.ts';

export const configSchema = s.object({
  address: s.optional(
    s.string({
      pattern: /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):\d{1,5}$/,
      patternHint: 'host:port, e.g. 0.0.0.0:9464',
      description: "an address of its own serving only the metrics (for a scraper that must not reach the admin API's /debug pages); the admin /metrics serves them either way",
    }),
  ),
  path: s.default(s.string({ pattern: /^\/[A-Za-z0-9._~/-]*$/, patternHint: 'an absolute URL path', description: 'the URL path of the metrics on `address`' }), '/metrics'),
  trafficMetrics: s.optional(
    s.object(
      {
        prometheusUrl: s.string({ pattern: /^https?:\/\/\S+$/, patternHint: 'http(s)://host:port', description: 'the Prometheus server that scrapes the sidecars' }),
        window: s.default(s.duration({ minMs: 1000, description: 'the window TrafficMetrics figures cover' }), 30_000),
      },
      { description: 'serve SMI TrafficMetrics (metrics.smi-spec.io/v1alpha1) at /plugins/<instance>/traffic-metrics/... from Prometheus queries over Envoy stats' },
    ),
  ),
});

/**
 * `use: prometheus` — the controller's metrics (prom-client registry, `trellis_*` plus process metrics) in
 * Prometheus text format: always on the admin API's `/metrics`, and on `address` when configured.
 */
export default definePlugin({
  name: 'prometheus',
  kind: 'observability',
  version: '0.1.0',
  coreRange: '^0.1.0',
  stability: 'beta',
  description: "Prometheus metrics: the admin API's /metrics, and optionally a listener of its own that serves only them.",
  configSchema,
  deps: { metrics: coreServices.metrics },
  extends: [extensionPoints.adminRoutes],
  create: (ctx) => {
    const { config, deps, logger } = ctx;
    const tm = config.trafficMetrics;
    if (tm) for (const route of trafficMetricsRoutes({ prometheusUrl: tm.prometheusUrl, windowMs: tm.window })) ctx.extend(extensionPoints.adminRoutes, route);
    return new MetricsListener({ metrics: deps.metrics, logger, path: config.path, ...(config.address ? { address: config.address } : {}) });
  },
});
