/** Tiny in-memory EventBus / Logger / Metrics for unit tests of the store and catalog. */
import type { Counter, EventBus, Gauge, Handler, Histogram, Labels, Logger, LogFields, MetricSpec, Metrics, Topic } from '@trellis/plugin-sdk';

export class FakeBus implements EventBus {
  readonly published: { topic: string; payload: unknown }[] = [];
  private readonly handlers = new Map<string, Set<Handler<unknown>>>();
  async publish<T>(topic: Topic<T>, payload: T): Promise<void> {
    this.published.push({ topic: topic.name, payload });
    await Promise.all([...(this.handlers.get(topic.name) ?? [])].map(async (h) => h(payload)));
  }
  subscribe<T>(topic: Topic<T>, handler: Handler<T>): () => void {
    let s = this.handlers.get(topic.name);
    if (!s) this.handlers.set(topic.name, (s = new Set()));
    s.add(handler as Handler<unknown>);
    return () => s.delete(handler as Handler<unknown>);
  }
}

export class FakeLogger implements Logger {
  constructor(readonly lines: { level: string; msg: string; fields?: LogFields }[] = [], private readonly base: LogFields = {}) {}
  private log(level: string, msg: string, fields?: LogFields): void {
    this.lines.push({ level, msg, fields: { ...this.base, ...fields } });
  }
  debug(msg: string, fields?: LogFields): void {
    this.log('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.log('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.log('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.log('error', msg, fields);
  }
  child(fields: LogFields): Logger {
    return new FakeLogger(this.lines, { ...this.base, ...fields });
  }
}

const labelKey = (l?: Labels): string => JSON.stringify(Object.entries(l ?? {}).sort());

export class FakeMetrics implements Metrics {
  readonly values = new Map<string, Map<string, number>>();
  private readonly collectors: (() => void)[] = [];
  private series(name: string): Map<string, number> {
    let m = this.values.get(name);
    if (!m) this.values.set(name, (m = new Map()));
    return m;
  }
  /** The value of one series (after running collectors). */
  value(name: string, labels?: Labels): number {
    for (const c of this.collectors) c();
    return this.series(name).get(labelKey(labels)) ?? 0;
  }
  counter(spec: MetricSpec): Counter {
    const m = this.series(spec.name);
    return { inc: (l, v = 1) => void m.set(labelKey(l), (m.get(labelKey(l)) ?? 0) + v) };
  }
  gauge(spec: MetricSpec & { collect?: () => void }): Gauge {
    const m = this.series(spec.name);
    if (spec.collect) this.collectors.push(spec.collect);
    return {
      set: (v, l) => void m.set(labelKey(l), v),
      inc: (l, v = 1) => void m.set(labelKey(l), (m.get(labelKey(l)) ?? 0) + v),
      dec: (l, v = 1) => void m.set(labelKey(l), (m.get(labelKey(l)) ?? 0) - v),
    };
  }
  histogram(spec: MetricSpec): Histogram {
    const m = this.series(spec.name);
    return { observe: (v, l) => void m.set(labelKey(l), v) };
  }
  exposition(): Promise<string> {
    return Promise.resolve('');
  }
}

export function fakeDeps(): { bus: FakeBus; logger: FakeLogger; metrics: FakeMetrics } {
  return { bus: new FakeBus(), logger: new FakeLogger(), metrics: new FakeMetrics() };
}
