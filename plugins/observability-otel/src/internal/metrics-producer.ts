import { ValueType } from '@opentelemetry/api';
import type * as resources from '@opentelemetry/resources';
import * as sdkMetrics from '@opentelemetry/sdk-metrics';
import type { Metrics } from '@trellis/plugin-sdk';

type MetricData = sdkMetrics.MetricData;

const hrNow = (): [number, number] => {
  const ms = Date.now();
  return [Math.floor(ms / 1000), (ms % 1000) * 1e6];
};

/** Prometheus base units as UCUM units (OTLP's `unit`). */
const unitOf = (name: string) => (name.endsWith('_seconds') || name.includes('_seconds_') ? 's' : name.endsWith('_bytes') ? 'By' : '');

/**
 * Exports the core's registry (the same values `/metrics` serves) as OTLP metrics: counters as cumulative
 * monotonic sums, gauges as gauges, histograms with their buckets. The registry stays the one source of truth;
 * no OTel instrument duplicates it.
 */
export class PrometheusFamiliesProducer implements sdkMetrics.MetricProducer {
  readonly #metrics: Metrics;
  readonly #resource: resources.Resource;
  readonly #start = hrNow();

  constructor(metrics: Metrics, resource: resources.Resource) {
    this.#metrics = metrics;
    this.#resource = resource;
  }

  async collect(): Promise<sdkMetrics.CollectionResult> {
    const families = (await this.#metrics.read?.()) ?? [];
    const end = hrNow();
    const startTime = this.#start;
    const out: MetricData[] = [];
    for (const f of families) {
      const descriptor = { name: f.name, description: f.help, unit: unitOf(f.name), valueType: ValueType.DOUBLE };
      if (f.type === 'histogram') {
        out.push({
          descriptor,
          aggregationTemporality: sdkMetrics.AggregationTemporality.CUMULATIVE,
          dataPointType: sdkMetrics.DataPointType.HISTOGRAM,
          dataPoints: f.series.map((s) => {
            // Prometheus buckets are cumulative; OTLP's are per bucket, with one more for +Inf.
            const counts = s.buckets.map((b, i) => b.count - (i > 0 ? s.buckets[i - 1]!.count : 0));
            counts.push(s.count - (s.buckets.at(-1)?.count ?? 0));
            return { startTime, endTime: end, attributes: s.labels, value: { buckets: { boundaries: s.buckets.map((b) => b.le), counts }, sum: s.sum, count: s.count } };
          }),
        });
      } else if (f.type === 'counter') {
        out.push({
          descriptor,
          aggregationTemporality: sdkMetrics.AggregationTemporality.CUMULATIVE,
          dataPointType: sdkMetrics.DataPointType.SUM,
          isMonotonic: true,
          dataPoints: f.series.map((s) => ({ startTime, endTime: end, attributes: s.labels, value: s.value })),
        });
      } else {
        out.push({
          descriptor,
          aggregationTemporality: sdkMetrics.AggregationTemporality.CUMULATIVE,
          dataPointType: sdkMetrics.DataPointType.GAUGE,
          dataPoints: f.series.map((s) => ({ startTime, endTime: end, attributes: s.labels, value: s.value })),
        });
      }
    }
    return { resourceMetrics: { resource: this.#resource, scopeMetrics: [{ scope: { name: 'trellis', version: '0.1.0' }, metrics: out }] }, errors: [] };
  }
}
