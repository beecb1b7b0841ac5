/** Metrics as plugins see them: Prometheus-style, `trellis_` prefix, base units, `_total` counters. @public */
export type Labels = Record<string, string>;

export interface Counter {
  inc(labels?: Labels, value?: number): void;
}
export interface Gauge {
  set(value: number, labels?: Labels): void;
  inc(labels?: Labels, value?: number): void;
  dec(labels?: Labels, value?: number): void;
}
export interface Histogram {
  observe(value: number, labels?: Labels): void;
}

export interface MetricSpec {
  name: string;
  help: string;
  /** Every label a series may carry; using an undeclared one is an error. */
  labelNames?: readonly string[];
}

export interface Metrics {
  counter(spec: MetricSpec): Counter;
  gauge(spec: MetricSpec & { collect?: () => void }): Gauge;
  histogram(spec: MetricSpec & { buckets?: readonly number[] }): Histogram;
  /**
   * Prometheus text exposition (version 0.0.4) of every registered metric, after running gauges' `collect`.
   * Asynchronous because collectors may be (prom-client's are).
   */
  exposition(): Promise<string>;
}
