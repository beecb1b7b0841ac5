import type { EventBus, Handler, Logger, Metrics, Topic } from '@trellis/plugin-sdk';

interface Subscription {
  readonly name: string;
  readonly handler: Handler<unknown>;
}

/**
 * The core's event bus. Handlers run concurrently and are isolated: a throw or a rejection is logged with the
 * topic and subscriber and counted, and every other handler still receives the event.
 */
export class Bus implements EventBus {
  readonly #subs = new Map<string, Subscription[]>();
  readonly #logger: Logger;
  readonly #published;
  readonly #handlerErrors;
  #anon = 0;

  constructor(logger: Logger, metrics: Metrics) {
    this.#logger = logger;
    this.#published = metrics.counter({ name: 'trellis_bus_events_total', help: 'Events published on the bus.', labelNames: ['topic'] });
    this.#handlerErrors = metrics.counter({
      name: 'trellis_bus_handler_errors_total',
      help: 'Bus handlers that threw or rejected.',
      labelNames: ['topic', 'subscriber'],
    });
  }

  async publish<T>(topic: Topic<T>, payload: T): Promise<void> {
    this.#published.inc({ topic: topic.name });
    const subs = this.#subs.get(topic.name);
    if (!subs?.length) return;
    // Snapshot the list: a handler that unsubscribes must not skip its neighbour.
    await Promise.all([...subs].map((sub) => this.#deliver(topic.name, sub, payload)));
  }

  subscribe<T>(topic: Topic<T>, handler: Handler<T>, opts: { name?: string } = {}): () => void {
    const sub: Subscription = { name: opts.name ?? `anonymous-${++this.#anon}`, handler: handler as Handler<unknown> };
    const list = this.#subs.get(topic.name) ?? [];
    list.push(sub);
    this.#subs.set(topic.name, list);
    return () => {
      const cur = this.#subs.get(topic.name);
      if (cur) this.#subs.set(topic.name, cur.filter((s) => s !== sub));
    };
  }

  async #deliver(topic: string, sub: Subscription, payload: unknown): Promise<void> {
    try {
      await sub.handler(payload);
    } catch (err) {
      this.#handlerErrors.inc({ topic, subscriber: sub.name });
      this.#logger.error('bus handler failed', { topic, subscriber: sub.name, err: errorFields(err) });
    }
  }
}

export function errorFields(err: unknown): Record<string, unknown> {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { message: err.message, type: err.name, ...(code === undefined ? {} : { code }) };
  }
  return { message: String(err) };
}
