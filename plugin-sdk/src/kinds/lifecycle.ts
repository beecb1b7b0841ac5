import type { Readiness } from '../services.ts';

/** What every plugin instance may implement. All methods are optional; `stop` must be idempotent. @public */
export interface Lifecycle {
  start?(): Promise<void> | void;
  stop?(): Promise<void> | void;
  /** Polled by `/readyz`; absent means ready once started. */
  readiness?(): Readiness;
}
