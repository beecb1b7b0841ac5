/**
 * Typed event bus. A topic is declared once with its payload type; publishers and subscribers share the
 * declaration, so a payload mismatch is a compile error. @public
 */
export interface Topic<T> {
  readonly name: string;
  /** Phantom field carrying the payload type; never set at runtime. */
  readonly __payload?: T;
}

export function defineTopic<T>(name: string): Topic<T> {
  return { name };
}

export type Handler<T> = (payload: T) => void | Promise<void>;

export interface EventBus {
  /**
   * Delivers `payload` to every subscriber. Each handler is isolated: one that throws or rejects is logged
   * and counted (`trellis_bus_handler_errors_total`) and does not stop delivery to the others.
   * Resolves when every handler has settled.
   */
  publish<T>(topic: Topic<T>, payload: T): Promise<void>;
  /** Returns an unsubscribe function. */
  subscribe<T>(topic: Topic<T>, handler: Handler<T>, opts?: { name?: string }): () => void;
}
