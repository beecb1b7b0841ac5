import type { Counter, Gauge, Histogram, Labels, MetricSpec, Metrics } from '@trellis/plugin-sdk';

const DEFAULT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

type Kind = 'counter' | 'gauge' | 'histogram';

interface Family {
  readonly kind: Kind;
  readonly spec: MetricSpec;
  render(): string[];
  collect?: () => void;
}

const labelKey = (labels: Labels | undefined): string =>
  labels ? JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]])) : '[]';

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

function renderLabels(labels: Labels | undefined, extra?: [string, string]): string {
  const pairs = Object.entries(labels ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (extra) pairs.push(extra);
  return pairs.length ? `{${pairs.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}` : '';
}

const fmt = (n: number): string => (Number.isFinite(n) ? String(n) : n > 0 ? '+Inf' : n < 0 ? '-Inf' : 'NaN');

/**
 * A small Prometheus registry (text exposition 0.0.4). Registering the same name twice returns the existing
 * metric so plugins restarted in tests do not collide; a different kind under one name is a programming error.
 */
export class MetricsRegistry implements Metrics {
  readonly #families = new Map<string, Family & { impl: unknown }>();

  counter(spec: MetricSpec): Counter {
    return this.#family('counter', spec, () => {
      const values = new Map<string, { labels: Labels | undefined; value: number }>();
      const impl: Counter = {
        inc(labels, value = 1) {
          if (value < 0) throw new Error(`counter ${spec.name} cannot decrease`);
          const k = labelKey(labels);
          const cur = values.get(k);
          if (cur) cur.value += value;
          else values.set(k, { labels, value });
        },
      };
      return { impl, render: () => [...values.values()].map((v) => `${spec.name}${renderLabels(v.labels)} ${fmt(v.value)}`) };
    });
  }

  gauge(spec: MetricSpec & { collect?: () => void }): Gauge {
    return this.#family(
      'gauge',
      spec,
      () => {
        const values = new Map<string, { labels: Labels | undefined; value: number }>();
        const add = (labels: Labels | undefined, d: number) => {
          const k = labelKey(labels);
          const cur = values.get(k);
          if (cur) cur.value += d;
          else values.set(k, { labels, value: d });
        };
        const impl: Gauge = {
          set(value, labels) {
            values.set(labelKey(labels), { labels, value });
          },
          inc(labels, value = 1) {
            add(labels, value);
          },
          dec(labels, value = 1) {
            add(labels, -value);
          },
        };
        return { impl, render: () => [...values.values()].map((v) => `${spec.name}${renderLabels(v.labels)} ${fmt(v.value)}`) };
      },
      spec.collect,
    );
  }

  histogram(spec: MetricSpec & { buckets?: readonly number[] }): Histogram {
    const buckets = [...(spec.buckets ?? DEFAULT_BUCKETS)].sort((a, b) => a - b);
    return this.#family('histogram', spec, () => {
      const series = new Map<string, { labels: Labels | undefined; counts: number[]; sum: number; count: number }>();
      const impl: Histogram = {
        observe(value, labels) {
          const k = labelKey(labels);
          let s = series.get(k);
          if (!s) {
            s = { labels, counts: buckets.map(() => 0), sum: 0, count: 0 };
            series.set(k, s);
          }
          for (let i = 0; i < buckets.length; i++) if (value <= (buckets[i] ?? Infinity)) s.counts[i] = (s.counts[i] ?? 0) + 1;
          s.sum += value;
          s.count += 1;
        },
      };
      const render = () =>
        [...series.values()].flatMap((s) => [
          ...buckets.map((b, i) => `${spec.name}_bucket${renderLabels(s.labels, ['le', fmt(b)])} ${s.counts[i] ?? 0}`),
          `${spec.name}_bucket${renderLabels(s.labels, ['le', '+Inf'])} ${s.count}`,
          `${spec.name}_sum${renderLabels(s.labels)} ${fmt(s.sum)}`,
          `${spec.name}_count${renderLabels(s.labels)} ${s.count}`,
        ]);
      return { impl, render };
    });
  }

  exposition(): string {
    const out: string[] = [];
    for (const f of [...this.#families.values()].sort((a, b) => a.spec.name.localeCompare(b.spec.name))) {
      f.collect?.();
      out.push(`# HELP ${f.spec.name} ${f.spec.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${f.spec.name} ${f.kind}`, ...f.render());
    }
    return `${out.join('\n')}\n`;
  }

  #family<T>(kind: Kind, spec: MetricSpec, build: () => { impl: T; render: () => string[] }, collect?: () => void): T {
    if (!NAME.test(spec.name)) throw new Error(`invalid metric name "${spec.name}"`);
    const existing = this.#families.get(spec.name);
    if (existing) {
      if (existing.kind !== kind) throw new Error(`metric ${spec.name} is already registered as a ${existing.kind}`);
      return existing.impl as T;
    }
    const { impl, render } = build();
    this.#families.set(spec.name, { kind, spec, impl, render, ...(collect ? { collect } : {}) });
    return impl;
  }
}
