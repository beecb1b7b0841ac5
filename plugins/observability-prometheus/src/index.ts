import { coreServices, definePlugin, s } from '@trellis/plugin-sdk';
import { MetricsListener } from './listener.ts';

export { MetricsListener } from './listener.ts';

export const configSchema = s.object({
  address: s.optional(
    s.string({
      pattern: /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):\d{1,5}$/,
      patternHint: 'host:port, e.g. 0.0.0.0:9464',
      description: "an address of its own serving only the metrics (for a scraper that must not reach the admin API's /debug pages); the admin /metrics serves them either way",
    }),
  ),
  path: s.default(s.string({ pattern: /^\/[A-Za-z0-9._~/-]*$/, patternHint: 'an absolute URL path', description: 'the URL path of the metrics on `address`' }), '/metrics'),
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
  create: ({ config, deps, logger }) => new MetricsListener({ metrics: deps.metrics, logger, path: config.path, ...(config.address ? { address: config.address } : {}) }),
});
