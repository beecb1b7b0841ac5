import type { Counter, Gauge, Histogram, Metrics } from '@trellis/plugin-sdk';
import { TypeUrls } from '@trellis/plugin-sdk';

const noop: Counter & Gauge & Histogram = { inc() {}, dec() {}, set() {}, observe() {} };

const SHORT = new Map<string, string>(Object.entries(TypeUrls).map(([k, v]) => [v, k]));

/**
 * `listener`, `cluster`, ... for the known type URLs, else `other`: a type URL comes from the client, and a
 * label value per distinct one would let any client grow /metrics without bound.
 */
export function typeLabel(typeUrl: string): string {
  return SHORT.get(typeUrl) ?? 'other';
}

/** The `trellis_xds_*` metrics. */
export class XdsMetrics {
  readonly connections: Gauge;
  readonly pushes: Counter;
  readonly pushDuration: Histogram;
  readonly nacks: Counter;
  readonly rejected: Counter;

  constructor(metrics?: Metrics) {
    if (!metrics) {
      this.connections = this.pushes = this.pushDuration = this.nacks = this.rejected = noop;
      return;
    }
    this.connections = metrics.gauge({ name: 'trellis_xds_connections', help: 'Open ADS streams.', labelNames: ['transport'] });
    this.pushes = metrics.counter({ name: 'trellis_xds_pushes_total', help: 'xDS responses sent.', labelNames: ['type'] });
    this.pushDuration = metrics.histogram({
      name: 'trellis_xds_push_duration_seconds',
      help: 'Time to compute and write one push to one stream.',
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
    });
    this.nacks = metrics.counter({ name: 'trellis_xds_nacks_total', help: 'xDS responses a proxy rejected.', labelNames: ['type'] });
    this.rejected = metrics.counter({ name: 'trellis_xds_rejected_streams_total', help: 'ADS streams refused.', labelNames: ['reason'] });
  }
}
