/**
 * A stand-in for an Envoy sidecar's `/stats/prometheus`: it serves Envoy's Prometheus text format for the
 * statistics TrafficMetrics reads (`envoy_cluster_upstream_rq_xx`, `envoy_cluster_upstream_rq_total`,
 * `envoy_cluster_upstream_rq_time` histogram with Envoy's default buckets), for given clusters, with counters
 * that grow at fixed rates from the moment it starts. It is not Envoy; it speaks Envoy's stats format so a
 * real Prometheus can scrape it.
 */
import { createServer, type Server } from 'node:http';

export interface ClusterTraffic {
  /** `envoy_cluster_name`, e.g. `shop/store|8080` (outbound) or `shop/store|8080|local` (inbound). */
  readonly cluster: string;
  /** 2xx and 5xx responses per second. */
  readonly okPerSecond: number;
  readonly errorsPerSecond: number;
  /** Every request takes this long (ms): all fall into the first bucket at or above it. */
  readonly latencyMs: number;
}

/** Envoy's default histogram buckets (ms), from its `HistogramSettings` defaults. */
const BUCKETS = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000];

export class EnvoyStatsStandIn {
  readonly #started = Date.now();
  private constructor(
    readonly url: string,
    readonly server: Server,
    readonly traffic: readonly ClusterTraffic[],
  ) {}

  static async start(traffic: readonly ClusterTraffic[]): Promise<EnvoyStatsStandIn> {
    const holder: { me?: EnvoyStatsStandIn } = {};
    const server = createServer((req, res) => {
      if (req.url !== '/stats/prometheus' || !holder.me) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(holder.me.render());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const a = server.address();
    holder.me = new EnvoyStatsStandIn(`http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/stats/prometheus`, server, traffic);
    return holder.me;
  }

  render(): string {
    const s = (Date.now() - this.#started) / 1000;
    const lines: string[] = [
      '# TYPE envoy_cluster_upstream_rq_total counter',
      ...this.traffic.map((t) => `envoy_cluster_upstream_rq_total{envoy_cluster_name="${t.cluster}"} ${Math.floor((t.okPerSecond + t.errorsPerSecond) * s)}`),
      '# TYPE envoy_cluster_upstream_rq_xx counter',
      ...this.traffic.flatMap((t) => [
        `envoy_cluster_upstream_rq_xx{envoy_response_code_class="2",envoy_cluster_name="${t.cluster}"} ${Math.floor(t.okPerSecond * s)}`,
        `envoy_cluster_upstream_rq_xx{envoy_response_code_class="5",envoy_cluster_name="${t.cluster}"} ${Math.floor(t.errorsPerSecond * s)}`,
      ]),
      '# TYPE envoy_cluster_upstream_rq_time histogram',
    ];
    for (const t of this.traffic) {
      const n = Math.floor((t.okPerSecond + t.errorsPerSecond) * s);
      for (const le of BUCKETS) lines.push(`envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="${t.cluster}",le="${le}"} ${le >= t.latencyMs ? n : 0}`);
      lines.push(`envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="${t.cluster}",le="+Inf"} ${n}`);
      lines.push(`envoy_cluster_upstream_rq_time_sum{envoy_cluster_name="${t.cluster}"} ${n * t.latencyMs}`);
      lines.push(`envoy_cluster_upstream_rq_time_count{envoy_cluster_name="${t.cluster}"} ${n}`);
    }
    return `${lines.join('\n')}\n`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
