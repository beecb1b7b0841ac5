import * as resources from '@opentelemetry/resources';
import * as sdkMetrics from '@opentelemetry/sdk-metrics';
import * as tracing from '@opentelemetry/sdk-trace-base';
import { OTLPMetricExporter as GrpcMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPMetricExporter as ProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { Logger, Metrics, ObservabilityPlugin, Readiness, Tracer } from '@trellis/plugin-sdk';
import { PrometheusFamiliesProducer } from './internal/metrics-producer.ts';
import { SeamTracer } from './internal/seam-tracer.ts';

export interface OtelExporterOptions {
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

  constructor(o: OtelExporterOptions) {
    const resource = resources.resourceFromAttributes({ ...o.resource });
    const grpc = o.protocol === 'grpc';
    const spanExporter = grpc ? new GrpcTraceExporter({ url: o.endpoint }) : new ProtoTraceExporter({ url: join(o.endpoint, '/v1/traces') });
    this.#traces = new tracing.BasicTracerProvider({
      resource,
      sampler: new tracing.TraceIdRatioBasedSampler(o.samplingRatio),
      // Few, large exports: a mesh-wide change is a few hundred spans, sent in one request rather than per 512.
      spanProcessors: [new tracing.BatchSpanProcessor(spanExporter, { scheduledDelayMillis: 1000, maxExportBatchSize: 4096, maxQueueSize: 16_384 })],
    });
    this.tracer = new SeamTracer(this.#traces.getTracer('trellis', '0.1.0'));
    if (o.metrics) {
      const exporter = grpc ? new GrpcMetricExporter({ url: o.endpoint }) : new ProtoMetricExporter({ url: join(o.endpoint, '/v1/metrics') });
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
