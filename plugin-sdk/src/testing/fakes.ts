import type { EventBus, Handler, Topic } from '../bus.ts';
import type { SourceSink } from '../kinds/source.ts';
import type { LogFields, Logger } from '../logger.ts';
import type { Counter, Gauge, Histogram, Metrics } from '../metrics.ts';
import type { KubeObject, ObjectKey, SourceError } from '../mesh/objects.ts';
import { keyOf, objectKeyString } from '../mesh/objects.ts';

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  fields: LogFields;
}

/** A logger that records lines, for assertions (e.g. that no private key is ever logged). */
export class MemoryLogger implements Logger {
  constructor(
    readonly lines: LogLine[] = [],
    private readonly base: LogFields = {},
  ) {}
  debug(msg: string, fields?: LogFields): void {
    this.lines.push({ level: 'debug', msg, fields: { ...this.base, ...fields } });
  }
  info(msg: string, fields?: LogFields): void {
    this.lines.push({ level: 'info', msg, fields: { ...this.base, ...fields } });
  }
  warn(msg: string, fields?: LogFields): void {
    this.lines.push({ level: 'warn', msg, fields: { ...this.base, ...fields } });
  }
  error(msg: string, fields?: LogFields): void {
    this.lines.push({ level: 'error', msg, fields: { ...this.base, ...fields } });
  }
  child(fields: LogFields): Logger {
    return new MemoryLogger(this.lines, { ...this.base, ...fields });
  }
}

/** Metrics that only count (enough for plugin tests; the core's registry renders Prometheus text). */
export class MemoryMetrics implements Metrics {
  readonly values = new Map<string, number>();
  #bump(name: string, d: number) {
    this.values.set(name, (this.values.get(name) ?? 0) + d);
  }
  counter(spec: { name: string }): Counter {
    return { inc: (_l, v = 1) => this.#bump(spec.name, v) };
  }
  gauge(spec: { name: string }): Gauge {
    return {
      set: (v) => void this.values.set(spec.name, v),
      inc: (_l, v = 1) => this.#bump(spec.name, v),
      dec: (_l, v = 1) => this.#bump(spec.name, -v),
    };
  }
  histogram(spec: { name: string }): Histogram {
    return { observe: () => this.#bump(`${spec.name}_count`, 1) };
  }
  exposition(): Promise<string> {
    return Promise.resolve([...this.values].map(([k, v]) => `${k} ${v}`).join('\n'));
  }
}

export class MemoryBus implements EventBus {
  readonly #subs = new Map<string, Handler<unknown>[]>();
  async publish<T>(topic: Topic<T>, payload: T): Promise<void> {
    await Promise.allSettled((this.#subs.get(topic.name) ?? []).map(async (h) => h(payload)));
  }
  subscribe<T>(topic: Topic<T>, handler: Handler<T>): () => void {
    const list = this.#subs.get(topic.name) ?? [];
    list.push(handler as Handler<unknown>);
    this.#subs.set(topic.name, list);
    return () => this.#subs.set(topic.name, (this.#subs.get(topic.name) ?? []).filter((h) => h !== handler));
  }
}

/** A sink that keeps what a source wrote, keyed like the store keys objects. */
export class RecordingSink implements SourceSink {
  readonly objects = new Map<string, KubeObject>();
  readonly errors: SourceError[] = [];
  operations = 0;
  apply(obj: KubeObject): void {
    this.operations++;
    this.objects.set(objectKeyString(keyOf(obj)), obj);
  }
  delete(key: ObjectKey): void {
    this.operations++;
    this.objects.delete(objectKeyString(key));
  }
  replaceAll(objects: readonly { obj: KubeObject }[]): void {
    this.operations++;
    this.objects.clear();
    for (const { obj } of objects) this.objects.set(objectKeyString(keyOf(obj)), obj);
  }
  reportError(err: Omit<SourceError, 'source'>): void {
    this.errors.push({ source: 'test', ...err });
  }
  clearErrors(file?: string): void {
    for (let i = this.errors.length - 1; i >= 0; i--) if (file === undefined || this.errors[i]?.file === file) this.errors.splice(i, 1);
  }
}
