import { ErrorCodes, TrellisError, type Logger, type Readiness } from '@trellis/plugin-sdk';
import { errorFields } from '../bus/bus.ts';

/** Anything the lifecycle starts and stops: a plugin instance or a core component. */
export interface Component {
  readonly name: string;
  /** `plugin` for plugins (their metrics and logs carry the name), `core` for core parts. */
  readonly type: 'plugin' | 'core';
  /** For messages: `plugins.sources[0]` or `core`. */
  readonly origin: string;
  start?(): Promise<void> | void;
  stop?(): Promise<void> | void;
  readiness?(): Readiness;
}

export type ComponentState = 'pending' | 'starting' | 'running' | 'failed' | 'stopping' | 'stopped';

export interface ComponentStatus {
  readonly name: string;
  readonly type: 'plugin' | 'core';
  readonly state: ComponentState;
  readonly ready: boolean;
  readonly reason?: string;
}

interface Entry {
  readonly c: Component;
  state: ComponentState;
  error?: string;
}

/** The kernel's own checks of what a component did: their codes survive the start-failure wrapping. */
const KERNEL_CHECKS = new Set<string>([ErrorCodes.PLUGIN_UNDECLARED, ErrorCodes.EXTENSION_CONFLICT, ErrorCodes.PLUGIN_DEPENDENCY_MISSING, ErrorCodes.PLUGIN_INVALID]);

const withTimeout = async (p: Promise<void>, ms: number): Promise<'done' | 'timeout'> => {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<'timeout'>((res) => {
    timer = setTimeout(() => res('timeout'), Math.max(0, ms));
  });
  try {
    return await Promise.race([p.then(() => 'done' as const), t]);
  } finally {
    clearTimeout(timer);
  }
};

/**
 * Starts components in the given (dependency) order and stops them in reverse. When one fails to start,
 * the ones already started are stopped and startup fails with a message naming the component.
 */
export class Lifecycle {
  readonly #entries: Entry[] = [];
  readonly #logger: Logger;
  #stopping: Promise<void> | undefined;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  add(c: Component): void {
    this.#entries.push({ c, state: 'pending' });
  }

  /** Starts every component in order; on a failure stops what started within `graceMs` and rethrows. */
  async start(graceMs: number): Promise<void> {
    for (const e of this.#entries) {
      e.state = 'starting';
      try {
        await e.c.start?.();
        e.state = 'running';
        this.#logger.debug('started', { [e.c.type === 'plugin' ? 'plugin' : 'part']: e.c.name });
      } catch (err) {
        e.state = 'failed';
        e.error = (err as Error)?.message ?? String(err);
        this.#logger.error('start failed; stopping what already started', { [e.c.type === 'plugin' ? 'plugin' : 'part']: e.c.name, err: errorFields(err) });
        await this.stop(graceMs);
        throw new TrellisError(
          KERNEL_CHECKS.has((err as { code?: string })?.code ?? '') ? (err as TrellisError).code : ErrorCodes.PLUGIN_START_FAILED,
          `${e.c.type === 'plugin' ? `plugin "${e.c.name}" (${e.c.origin})` : `core component "${e.c.name}"`} failed to start: ${e.error}`,
          { cause: err },
        );
      }
    }
  }

  /** Stops running components in reverse order within `graceMs` overall; idempotent. */
  stop(graceMs: number): Promise<void> {
    this.#stopping ??= this.#stopAll(graceMs);
    return this.#stopping;
  }

  async #stopAll(graceMs: number): Promise<void> {
    const deadline = Date.now() + graceMs;
    for (const e of [...this.#entries].reverse()) {
      if (e.state !== 'running' && e.state !== 'starting') continue;
      e.state = 'stopping';
      const field = e.c.type === 'plugin' ? 'plugin' : 'part';
      try {
        const r = await withTimeout(Promise.resolve().then(() => e.c.stop?.()), deadline - Date.now());
        if (r === 'timeout') this.#logger.warn('stop did not finish within the grace period; moving on', { [field]: e.c.name });
      } catch (err) {
        this.#logger.error('stop failed', { [field]: e.c.name, err: errorFields(err) });
      }
      e.state = 'stopped';
    }
  }

  status(): ComponentStatus[] {
    return this.#entries.map(({ c, state, error }) => {
      if (state !== 'running') return { name: c.name, type: c.type, state, ready: false, reason: error ?? `state ${state}` };
      let r: Readiness = { ready: true };
      try {
        r = c.readiness?.() ?? r;
      } catch (err) {
        r = { ready: false, reason: `readiness check threw: ${(err as Error).message}` };
      }
      return { name: c.name, type: c.type, state, ready: r.ready, ...(r.reason ? { reason: r.reason } : {}) };
    });
  }
}
