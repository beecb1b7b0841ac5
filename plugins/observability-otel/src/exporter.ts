import * as resources from '@opentelemetry/resources';
import * as sdkMetrics from '@opentelemetry/sdk-metrics';
import * as tracing from '@opentelemetry/sdk-trace-base';
import type { Logger, Metrics, ObservabilityPlugin, Readiness, Tracer } from '@trellis/plugin-sdk';
import { PrometheusFamiliesProducer } from './internal/metrics-producer.ts';
import { SeamTracer } from './internal/seam-tracer.ts';

export interface OtelExporterOptions {
  /** The collector's base URL (http/protobuf) or gRPC address. */
  readonly endpoint: string;
  readonly protocol: 'http/protobuf' | 'grpc';
  readonly samplingRatio: number;
  /** The registry to export; absent: no metrics export. */
  readonly metrics?: Metrics;
  readonly metricsIntervalMs: number;
  readonly resource: Readonly<Record<string, string>>;
  readonly logger: Logger;
}

const join = (base: string, path: string) => `${base.replace(/\/+$/, '')}${path}`;

/** The OTLP exporters of one protocol. */
export interface OtlpExporters {
  readonly spans: tracing.SpanExporter;
  /** Absent when metrics are not exported. */
  readonly metrics?: sdkMetrics.PushMetricExporter;
}

/**
 * Loads only the configured protocol's exporters: the gRPC ones bring their own transport and serializers, which
 * an http/protobuf controller would keep in its heap for nothing (and the reverse).
 */
export async function loadExporters(endpoint: string, protocol: 'http/protobuf' | 'grpc', withMetrics: boolean): Promise<OtlpExporters> {
  if (protocol === 'grpc') {
    const [t, m] = await Promise.all([import('@opentelemetry/exporter-trace-otlp-grpc'), withMetrics ? import('@opentelemetry/exporter-metrics-otlp-grpc') : undefined]);
    return { spans: new t.OTLPTraceExporter({ url: endpoint }), ...(m ? { metrics: new m.OTLPMetricExporter({ url: endpoint }) } : {}) };
  }
  const [t, m] = await Promise.all([import('@opentelemetry/exporter-trace-otlp-proto'), withMetrics ? import('@opentelemetry/exporter-metrics-otlp-proto') : undefined]);
  return { spans: new t.OTLPTraceExporter({ url: join(endpoint, '/v1/traces') }), ...(m ? { metrics: new m.OTLPMetricExporter({ url: join(endpoint, '/v1/metrics') }) } : {}) };
}

/**
 * The OTel SDKs, created per instance and never registered globally (a process may run several meshes):
 * a tracer provider with a batch span processor and a ratio sampler, and a meter provider whose periodic
 * reader exports the core's registry through a metric producer.
 */
export class OtelExporter implements ObservabilityPlugin {
  readonly tracer: Tracer;
  readonly #traces: tracing.BasicTracerProvider;
  readonly #meters: sdkMetrics.MeterProvider | undefined;
  #stopped = false;

  /** The SDKs with the configured protocol's exporters. */
  static async create(o: OtelExporterOptions): Promise<OtelExporter> {
    return new OtelExporter(o, await loadExporters(o.endpoint, o.protocol, o.metrics !== undefined));
  }

  constructor(o: OtelExporterOptions, exporters: OtlpExporters) {
    const resource = resources.resourceFromAttributes({ ...o.resource });
    this.#traces = new tracing.BasicTracerProvider({
      resource,
      // The ratio decides per trace (at its root); a child follows its parent instead of rehashing the trace id.
      sampler: new tracing.ParentBasedSampler({ root: new tracing.TraceIdRatioBasedSampler(o.samplingRatio) }),
      // Few, large exports: a mesh-wide change is a few hundred spans, sent in one request rather than per 512.
      spanProcessors: [new tracing.BatchSpanProcessor(exporters.spans, { scheduledDelayMillis: 1000, maxExportBatchSize: 4096, maxQueueSize: 16_384 })],
    });
    this.tracer = new SeamTracer(this.#traces.getTracer('trellis', '0.1.0'));
    const exporter = exporters.metrics;
    if (o.metrics && exporter) {
      this.#meters = new sdkMetrics.MeterProvider({
        resource,
        readers: [
          new sdkMetrics.PeriodicExportingMetricReader({
            exporter,
            exportIntervalMillis: o.metricsIntervalMs,
            exportTimeoutMillis: Math.min(30_000, o.metricsIntervalMs),
            metricProducers: [new PrometheusFamiliesProducer(o.metrics, resource)],
          }),
        ],
      });
    }
  }

  /** Exports what is buffered now (tests; shutdown does it too). */
  async flush(): Promise<void> {
    await Promise.all([this.#traces.forceFlush(), this.#meters?.forceFlush()]);
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    // Shutdown flushes: the last traces and a final metrics export go out (bounded by the exporters' timeouts).
    await Promise.allSettled([this.#traces.shutdown(), this.#meters?.shutdown()]);
  }

  readiness(): Readiness {
    return this.#stopped ? { ready: false, reason: 'stopped' } : { ready: true };
  }
}
