import type { Logger, Readiness } from '@trellis/plugin-sdk';

export interface SyncedSource {
  readonly name: string;
  /** The source plugin's instance; its `readiness()` says whether its first full sync is done. */
  readonly instance: unknown;
}

/**
 * Opens once every source has reported its first full sync (its `readiness()` is ready; a source without
 * `readiness()` counts as synced when started). Until then ADS refuses proxies (UNAVAILABLE, retryable), so no
 * proxy is ever served a partial mesh, which in SMI's deny-by-default mode would deny what the missing policy
 * allows. It stays open afterwards: a source losing its watch later keeps the last good state serving.
 */
export class SyncBarrier {
  readonly #sources: () => readonly SyncedSource[];
  readonly #logger: Logger | undefined;
  #open = false;

  constructor(sources: () => readonly SyncedSource[], logger?: Logger) {
    this.#sources = sources;
    this.#logger = logger;
  }

  get open(): boolean {
    return this.#open || this.check() === undefined;
  }

  /** Undefined once open; otherwise which sources are not synced and why. */
  check(): string | undefined {
    if (this.#open) return undefined;
    const waiting = this.unsynced();
    if (waiting.length > 0) return `waiting for the first full sync of ${waiting.map((w) => `source "${w.name}" (${w.reason})`).join(', ')}`;
    this.#open = true;
    this.#logger?.info('every source has reported its first full sync; serving proxies');
    return undefined;
  }

  /** Sources whose first full sync is not done, with their reason. */
  unsynced(): { name: string; reason: string }[] {
    const out: { name: string; reason: string }[] = [];
    for (const { name, instance } of this.#sources()) {
      const r = readinessOf(instance);
      if (!r.ready) out.push({ name, reason: r.reason ?? 'not synced' });
    }
    return out;
  }

  readiness(): Readiness {
    const reason = this.check();
    return reason === undefined ? { ready: true } : { ready: false, reason };
  }
}

function readinessOf(instance: unknown): Readiness {
  const fn = (instance as { readiness?: () => Readiness } | undefined)?.readiness;
  if (typeof fn !== 'function') return { ready: true };
  try {
    return fn.call(instance);
  } catch (err) {
    return { ready: false, reason: `readiness check threw: ${(err as Error).message}` };
  }
}
