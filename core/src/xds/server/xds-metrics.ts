import type { Counter, CurrentValue, Gauge, Histogram, Metrics } from '@trellis/plugin-sdk';
import { TypeUrls } from '@trellis/plugin-sdk';
import type { Node__Output } from '@trellis/plugin-sdk/xds/generated/envoy/config/core/v3/Node.ts';

const noop: Counter & Gauge & Histogram = { inc() {}, dec() {}, set() {}, observe() {} };

const SHORT = new Map<string, string>(Object.entries(TypeUrls).map(([k, v]) => [v, k]));

/**
 * `listener`, `cluster`, ... for the known type URLs, else `other`: a type URL comes from the client, and a
 * label value per distinct one would let any client grow /metrics without bound.
 */
export function typeLabel(typeUrl: string): string {
  return SHORT.get(typeUrl) ?? 'other';
}

/** What the connected-proxy metrics read from each live stream at scrape time. */
export interface StreamSample {
  readonly kind: string;
  /** The proxy's software version label (`proxyVersionLabel`). */
  readonly version: string;
  /** Epoch ms of the stream's last ACK, or of its opening when it never ACKed. */
  readonly lastAckAt: number;
}

/** Buckets of `trellis_xds_last_ack_age_seconds`: from a fresh ACK to a proxy silent for an hour. */
const ACK_AGE_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600];

/** The `trellis_xds_*` metrics. */
export class XdsMetrics {
  readonly connections: Gauge;
  readonly pushes: Counter;
  readonly pushDuration: Histogram;
  /** Per type: from the snapshot's build to the response written to one stream. */
  readonly pushLatency: Histogram;
  /** Labels `type` and `reason` (`nackReason`, a fixed set). */
  readonly nacks: Counter;
  readonly rejected: Counter;
  readonly versions = new ProxyVersionLabels();
  #streams: () => Iterable<StreamSample> = () => [];

  constructor(metrics?: Metrics, now: () => number = Date.now) {
    if (!metrics) {
      this.connections = this.pushes = this.pushDuration = this.pushLatency = this.nacks = this.rejected = noop;
      return;
    }
    this.connections = metrics.gauge({ name: 'trellis_xds_connections', help: 'Open ADS streams.', labelNames: ['transport'] });
    this.pushes = metrics.counter({ name: 'trellis_xds_pushes_total', help: 'xDS responses sent.', labelNames: ['type'] });
    this.pushDuration = metrics.histogram({
      name: 'trellis_xds_push_duration_seconds',
      help: 'Time to compute and write one push to one stream.',
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
    });
    this.pushLatency = metrics.histogram({
      name: 'trellis_xds_push_latency_seconds',
      help: 'Time from a snapshot being built to one response of it written to one stream, by type.',
      labelNames: ['type'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    });
    this.nacks = metrics.counter({ name: 'trellis_xds_nacks_total', help: 'xDS responses a proxy rejected, by type and reason.', labelNames: ['type', 'reason'] });
    this.rejected = metrics.counter({ name: 'trellis_xds_rejected_streams_total', help: 'ADS streams refused.', labelNames: ['reason'] });
    metrics.gauge({
      name: 'trellis_xds_connected_proxies',
      help: 'Authenticated ADS streams by proxy kind and proxy software version.',
      labelNames: ['kind', 'version'],
      current: () => {
        const counts = new Map<string, CurrentValue & { labels: { kind: string; version: string } }>();
        for (const s of this.#streams()) {
          const k = `${s.kind}\u0000${s.version}`;
          const c = counts.get(k);
          counts.set(k, { labels: { kind: s.kind, version: s.version }, value: (c?.value ?? 0) + 1 });
        }
        return counts.values();
      },
    });
    metrics.histogram({
      name: 'trellis_xds_last_ack_age_seconds',
      help: "Seconds since each connected proxy's last ACK (since it connected when it never ACKed), recomputed at each scrape.",
      labelNames: ['kind'],
      buckets: ACK_AGE_BUCKETS,
      current: () => {
        const t = now();
        return [...this.#streams()].map((s) => ({ labels: { kind: s.kind }, value: Math.max(0, (t - s.lastAckAt) / 1000) }));
      },
    });
  }

  /** Where the connected-proxy metrics read the live streams from (the server's registry). */
  observeStreams(streams: () => Iterable<StreamSample>): void {
    this.#streams = streams;
  }
}

/**
 * A bounded `reason` for a NACK from its message: Envoy's and gRPC's rejection texts fall into a few families,
 * and the free text itself (unbounded, client-chosen) stays in logs and /debug/proxies.
 */
export function nackReason(message: string): string {
  const m = message.toLowerCase();
  if (/proto constraint validation|validation failed|invalid|malformed|caused by field/.test(m)) return 'validation';
  if (/unknown|not supported|unsupported|unrecognized|no extension|didn't find a registered/.test(m)) return 'unsupported';
  if (/duplicate|already exists|conflict/.test(m)) return 'duplicate';
  if (/not found|missing|no such|does not exist|unresolved/.test(m)) return 'reference';
  if (/certificate|tls|ssl|x509|private key|pem/.test(m)) return 'tls';
  return 'other';
}

/** The distinct proxy versions labelled; later ones count under `other`. */
const MAX_VERSIONS = 16;

/**
 * A bounded `version` label from the node's user agent (`envoy/1.31.2`, `gRPC Node/1.14.1`): sanitized,
 * truncated, and at most `MAX_VERSIONS` distinct values per server (a client chooses its user agent).
 */
export class ProxyVersionLabels {
  readonly #seen = new Set<string>();

  label(node: Node__Output | undefined): string {
    const name = node?.user_agent_name ?? '';
    const v = node?.user_agent_build_version?.version;
    const version = node?.user_agent_version || (v ? `${v.major_number ?? 0}.${v.minor_number ?? 0}.${v.patch ?? 0}` : '');
    if (!name && !version) return 'unknown';
    const raw = `${name}/${version}`.replace(/[^A-Za-z0-9._/+-]+/g, '_').slice(0, 48);
    if (this.#seen.has(raw)) return raw;
    if (this.#seen.size >= MAX_VERSIONS) return 'other';
    this.#seen.add(raw);
    return raw;
  }
}
