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

/** One value of a metric whose series are recomputed at each scrape (`current`). */
export interface CurrentValue {
  readonly labels?: Labels;
  readonly value: number;
}

export interface Metrics {
  counter(spec: MetricSpec): Counter;
  /**
   * `collect` runs before each scrape. `current` instead returns every series the gauge has now; the previous
   * scrape's series are dropped (a per-kind count of things that come and go leaves no stale series).
   */
  gauge(spec: MetricSpec & { collect?: () => void; current?: () => Iterable<CurrentValue> }): Gauge;
  /**
   * `current` makes a histogram of values that exist now (the age of each proxy's last ACK), recomputed at each
   * scrape instead of accumulated: one series per bucket, not one per proxy. Read it with
   * `histogram_quantile(0.99, metric_bucket)`, not `rate()`.
   */
  histogram(spec: MetricSpec & { buckets?: readonly number[]; current?: () => Iterable<CurrentValue> }): Histogram;
  /**
   * Prometheus text exposition (version 0.0.4) of every registered metric, after running gauges' `collect`.
   * Asynchronous because collectors may be (prom-client's are).
   */
  exposition(): Promise<string>;
  /**
   * Every metric as values (for exporters that speak another protocol than Prometheus text, e.g. OTLP), after
   * running collectors like `exposition`. Optional: the core's registry has it.
   */
  read?(): Promise<readonly MetricFamily[]>;
}

export interface HistogramSeries {
  readonly labels: Labels;
  /** Cumulative counts per upper bound, ascending, without `+Inf` (that is `count`). */
  readonly buckets: readonly { readonly le: number; readonly count: number }[];
  readonly sum: number;
  readonly count: number;
}

export type MetricFamily =
  | { readonly name: string; readonly help: string; readonly type: 'counter' | 'gauge'; readonly series: readonly { readonly labels: Labels; readonly value: number }[] }
  | { readonly name: string; readonly help: string; readonly type: 'histogram'; readonly series: readonly HistogramSeries[] };
