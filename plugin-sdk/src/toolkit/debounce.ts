export interface DebounceOptions {
  /** Flush after this long without a new key. */
  quietMs: number;
  /** Never hold the first pending key longer than this. */
  maxDelayMs: number;
}

export interface Debouncer {
  add(key: string): void;
  /** Flushes pending keys now (if any). */
  flush(): void;
  /** Drops pending keys and timers. */
  cancel(): void;
  readonly pending: number;
}

/**
 * Coalesces keys over a quiet window: `flush` gets every key added since the last flush, once the keys stop
 * coming for `quietMs`, but never later than `maxDelayMs` after the first of them.
 */
export function createDebouncer(options: DebounceOptions, flush: (keys: Set<string>) => void): Debouncer {
  const { quietMs, maxDelayMs } = options;
  let keys = new Set<string>();
  let quietTimer: NodeJS.Timeout | undefined;
  let firstAt = 0;

  const clear = () => {
    if (quietTimer) clearTimeout(quietTimer);
    quietTimer = undefined;
  };
  const doFlush = () => {
    clear();
    if (keys.size === 0) return;
    const batch = keys;
    keys = new Set();
    flush(batch);
  };

  return {
    add(key) {
      const now = Date.now();
      if (keys.size === 0) firstAt = now;
      keys.add(key);
      clear();
      const wait = Math.max(0, Math.min(quietMs, firstAt + maxDelayMs - now));
      quietTimer = setTimeout(doFlush, wait);
      quietTimer.unref?.();
    },
    flush: doFlush,
    cancel() {
      clear();
      keys = new Set();
    },
    get pending() {
      return keys.size;
    },
  };
}
