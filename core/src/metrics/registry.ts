import { collectDefaultMetrics, Counter as PromCounter, Gauge as PromGauge, Histogram as PromHistogram, Registry, type Metric } from 'prom-client';
import type { Counter, CurrentValue, Gauge, Histogram, HistogramSeries, Labels, MetricFamily, MetricSpec, Metrics } from '@trellis/plugin-sdk';

const DEFAULT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type Kind = 'counter' | 'gauge' | 'histogram';

interface Family {
  readonly kind: Kind;
  readonly labelNames: readonly string[];
  readonly impl: Counter | Gauge | Histogram;
}

/**
 * The process metrics (`process_*`, `nodejs_*`) come from prom-client's `collectDefaultMetrics`. They describe
 * the process, not a mesh, and collecting them starts a GC observer and an event-loop monitor that cannot be
 * stopped; so they are collected once per process into this registry and shared by every mesh's registry.
 */
let processRegistry: Registry | undefined;
function processMetrics(): Metric[] {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  // getMetricsAsArray() is typed as plain objects but holds the metric instances, which registerMetric needs.
  return processRegistry.getMetricsAsArray() as unknown as Metric[];
}

/**
 * The SDK's `Metrics` on a prom-client `Registry` of its own (never prom-client's global one: a process may run
 * several meshes, e.g. in tests). Label names are declared up front and enforced: an undeclared label is an
 * error. Registering a name again with the same kind and labels returns the existing metric, so a plugin
 * restarted in one process does not collide; a different kind or label set under one name is an error.
 * Series render with their labels in name order.
 */
export class MetricsRegistry implements Metrics {
  /** The prom-client registry behind this one (for core-side exporters, e.g. a Prometheus push or remote-write plugin host). */
  readonly registry = new Registry();
  readonly #families = new Map<string, Family>();

  /** `processMetrics: true` adds prom-client's default process metrics (the mesh does; unit tests need not). */
  constructor(opts: { processMetrics?: boolean } = {}) {
    if (opts.processMetrics) for (const m of processMetrics()) this.registry.registerMetric(m);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  counter(spec: MetricSpec): Counter {
    return this.#family('counter', spec, (labelNames, norm) => {
      const c = new PromCounter({ name: spec.name, help: spec.help, labelNames, registers: [this.registry] });
      return { inc: (labels, value = 1) => (labels ? c.inc(norm(labels), value) : c.inc(value)) };
    }) as Counter;
  }

  gauge(spec: MetricSpec & { collect?: () => void; current?: () => Iterable<CurrentValue> }): Gauge {
    return this.#family('gauge', spec, (labelNames, norm) => {
      const { collect, current } = spec;
      const g: PromGauge = new PromGauge({
        name: spec.name,
        help: spec.help,
        labelNames,
        registers: [this.registry],
        ...(collect || current
          ? {
              collect: () => {
                collect?.();
                if (!current) return;
                g.reset();
                for (const v of current()) {
                  if (v.labels) g.set(norm(v.labels), v.value);
                  else g.set(v.value);
                }
              },
            }
          : {}),
      });
      return {
        set: (value, labels) => (labels ? g.set(norm(labels), value) : g.set(value)),
        inc: (labels, value = 1) => (labels ? g.inc(norm(labels), value) : g.inc(value)),
        dec: (labels, value = 1) => (labels ? g.dec(norm(labels), value) : g.dec(value)),
      };
    }) as Gauge;
  }

  histogram(spec: MetricSpec & { buckets?: readonly number[]; current?: () => Iterable<CurrentValue> }): Histogram {
    return this.#family('histogram', spec, (labelNames, norm) => {
      const current = spec.current;
      const h: PromHistogram = new PromHistogram({
        name: spec.name,
        help: spec.help,
        labelNames,
        buckets: [...(spec.buckets ?? DEFAULT_BUCKETS)],
        registers: [this.registry],
        ...(current
          ? {
              collect: () => {
                h.reset();
                for (const v of current()) {
                  if (v.labels) h.observe(norm(v.labels), v.value);
                  else h.observe(v.value);
                }
              },
            }
          : {}),
      });
      return { observe: (value, labels) => (labels ? h.observe(norm(labels), value) : h.observe(value)) };
    }) as Histogram;
  }

  exposition(): Promise<string> {
    return this.registry.metrics();
  }

  /** prom-client's values as `MetricFamily` (summaries, which the core does not use, are left out). */
  async read(): Promise<MetricFamily[]> {
    const out: MetricFamily[] = [];
    for (const m of await this.registry.getMetricsAsJSON()) {
      const type = String(m.type);
      const values = m.values as { labels: Record<string, string | number>; value: number; metricName?: string }[];
      const str = (l: Record<string, string | number>): Labels => Object.fromEntries(Object.entries(l).map(([k, v]) => [k, String(v)]));
      if (type === 'counter' || type === 'gauge') out.push({ name: m.name, help: m.help, type, series: values.map((v) => ({ labels: str(v.labels), value: v.value })) });
      else if (type === 'histogram') {
        const series = new Map<string, { labels: Labels; buckets: { le: number; count: number }[]; sum: number; count: number }>();
        for (const v of values) {
          const { le, ...rest } = str(v.labels);
          const labels = rest;
          const key = JSON.stringify(Object.entries(labels).sort());
          let s = series.get(key);
          if (!s) series.set(key, (s = { labels, buckets: [], sum: 0, count: 0 }));
          if (v.metricName?.endsWith('_bucket')) {
            if (le !== undefined && le !== '+Inf') s.buckets.push({ le: Number(le), count: v.value });
          } else if (v.metricName?.endsWith('_sum')) s.sum = v.value;
          else if (v.metricName?.endsWith('_count')) s.count = v.value;
        }
        out.push({ name: m.name, help: m.help, type: 'histogram', series: [...series.values()].map((s): HistogramSeries => ({ ...s, buckets: s.buckets.sort((a, b) => a.le - b.le) })) });
      }
    }
    return out;
  }

  #family(kind: Kind, spec: MetricSpec, build: (labelNames: string[], norm: (l: Labels) => Labels) => Family['impl']): Family['impl'] {
    const labelNames = [...(spec.labelNames ?? [])].sort();
    const existing = this.#families.get(spec.name);
    if (existing) {
      if (existing.kind !== kind) throw new Error(`metric ${spec.name} is already registered as a ${existing.kind}`);
      if (existing.labelNames.join(',') !== labelNames.join(','))
        throw new Error(`metric ${spec.name} is already registered with labels [${existing.labelNames.join(', ')}], not [${labelNames.join(', ')}]`);
      return existing.impl;
    }
    const declared = new Set(labelNames);
    // Same key order for every series (prom-client renders labels in the order given) and no undeclared label.
    const norm = (labels: Labels): Labels => {
      for (const k of Object.keys(labels)) if (!declared.has(k)) throw new Error(`metric ${spec.name}: label "${k}" is not declared (labelNames: ${labelNames.join(', ') || 'none'})`);
      const out: Labels = {};
      for (const k of labelNames) {
        const v = labels[k];
        if (v !== undefined) out[k] = v;
      }
      return out;
    };
    const impl = build(labelNames, norm);
    this.#families.set(spec.name, { kind, labelNames, impl });
    return impl;
  }
}
