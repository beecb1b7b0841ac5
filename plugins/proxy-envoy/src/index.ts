import { definePlugin, s } from '@trellis/plugin-sdk';
import type { ProxyPlugin } from '@trellis/plugin-sdk';
import { envoyBootstrap } from './bootstrap.ts';
import { createEnvoyGenerator } from './generator.ts';

export { createEnvoyGenerator } from './generator.ts';
export type { EnvoyGenerator, EnvoyGeneratorOptions } from './generator.ts';
export { envoyBootstrap, bootstrapObject, parseHostPort, sdsSecrets, BootstrapFiles, BootstrapSecrets } from './bootstrap.ts';
export type { BootstrapOptions, ProbeSpec } from './bootstrap.ts';
export * from './names.ts';
export { principalNames } from './internal/rbac.ts';

const probe = (what: string) =>
  s.optional(
    s.object(
      {
        port: s.number({ integer: true, min: 1, max: 65535, description: "the app's probe port" }),
        path: s.string({ minLength: 1, pattern: /^\//, patternHint: 'a path starting with /', description: "the app's probe path" }),
      },
      { description: `OSM-style ${what} probe listener in bootstraps` },
    ),
  );

export const configSchema = s.object({
  metrics: s.default(s.boolean({ description: 'add `inbound-prometheus-listener` (15010, /stats/prometheus) and `envoy-metrics-cluster`' }), true),
  sharedCapacity: s.default(s.number({ integer: true, min: 100, description: 'shared resources (clusters, endpoints, roots) kept for reuse across proxies' }), 20_000),
  probes: s.default(s.section({ liveness: probe('liveness'), readiness: probe('readiness'), startup: probe('startup') }), {}),
});

/** `use: envoy` — Envoy sidecars: LDS/RDS/CDS/EDS/SDS in OSM's shapes, and their bootstrap. */
export default definePlugin({
  name: 'envoy',
  kind: 'proxy',
  nodeKind: 'sidecar',
  version: '0.1.0',
  coreRange: '^0.1.0',
  stability: 'beta',
  description: "Envoy sidecars: listeners, routes, clusters, endpoints and secrets in OSM's shapes; bootstrap files.",
  configSchema,
  create: (ctx): ProxyPlugin => {
    const generator = createEnvoyGenerator({ metrics: ctx.config.metrics, sharedCapacity: ctx.config.sharedCapacity });
    const probes = ctx.config.probes;
    return {
      nodeKind: 'sidecar',
      servesSecrets: true,
      generate: (view, gctx) => generator.generate(view, gctx),
      bootstrap: (req) => envoyBootstrap(req, { probes }),
    };
  },
});
