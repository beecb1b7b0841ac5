import { hostname } from 'node:os';
import { coreServices, definePlugin, extensionPoints, s } from '@trellis/plugin-sdk';
import { OtelExporter } from './exporter.ts';

export { OtelExporter, loadExporters } from './exporter.ts';
export type { OtelExporterOptions, OtlpExporters } from './exporter.ts';

export const configSchema = s.object({
  endpoint: s.string({
    pattern: /^https?:\/\/[^\s/]+(\/[^\s]*)?$/,
    patternHint: 'an http(s) URL, e.g. http://otel-collector:4318',
    description: "the collector's base URL: `/v1/traces` and `/v1/metrics` are appended for http/protobuf (port 4318 by convention); the gRPC address for grpc (4317)",
  }),
  protocol: s.default(s.literal(['http/protobuf', 'grpc'] as const, { description: 'OTLP transport' }), 'http/protobuf'),
  samplingRatio: s.default(s.number({ min: 0, max: 1, description: 'fraction of config changes traced (1: every one)' }), 1),
  traces: s.default(s.boolean({ description: 'export a trace per config change' }), true),
  metrics: s.default(s.boolean({ description: "export the controller's metrics (the same as /metrics) over OTLP" }), true),
  metricsInterval: s.default(s.duration({ minMs: 100, description: 'how often metrics are exported' }), 15_000),
  replica: s.optional(s.string({ minLength: 1, description: '`service.instance.id` (default: the host name)' })),
  resourceAttributes: s.default(s.record(s.string(), { description: 'more resource attributes (`deployment.environment: prod`)' }), {}),
});

/**
 * `use: otel` — OpenTelemetry export (OTLP over HTTP/protobuf or gRPC) on @opentelemetry/sdk-node 0.223's SDKs (its
 * sdk-trace-base, sdk-metrics and resources, imported directly: sdk-node's index loads every exporter; of the
 * OTLP exporters only the configured protocol's are loaded),
 * without registering anything globally: one trace per config change through the core's tracing seam, and the
 * controller's metrics. Resource: `service.name=trellis-controller`, `trellis.mesh`, `service.instance.id`.
 */
export default definePlugin({
  name: 'otel',
  kind: 'observability',
  version: '0.1.0',
  coreRange: '^0.1.0',
  stability: 'alpha',
  description: 'OTLP traces of every config change (source to ACK per proxy) and OTLP metrics, to a collector.',
  configSchema,
  deps: { metrics: coreServices.metrics },
  extends: [extensionPoints.tracers],
  create: async (ctx) => {
    const { config, deps, logger, mesh } = ctx;
    const exporter = await OtelExporter.create({
      endpoint: config.endpoint,
      protocol: config.protocol,
      samplingRatio: config.samplingRatio,
      metricsIntervalMs: config.metricsInterval,
      ...(config.metrics ? { metrics: deps.metrics } : {}),
      logger,
      resource: {
        'service.name': 'trellis-controller',
        'service.version': '0.1.0',
        'service.instance.id': config.replica ?? hostname(),
        'trellis.mesh': mesh.name,
        ...config.resourceAttributes,
      },
    });
    if (config.traces) ctx.extend(extensionPoints.tracers, exporter.tracer);
    return exporter;
  },
});
