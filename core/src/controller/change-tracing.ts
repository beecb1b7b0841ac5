import { ChangeAttributes as A, ChangeSpans } from '@trellis/plugin-sdk';
import type { NodeIdentity, SourceSink, SpanAttributes, TraceSpan, Tracer } from '@trellis/plugin-sdk';
import type { StoreChange } from '../store/index.ts';
import { preciseNow } from '../xds/index.ts';
import type { XdsHooks } from '../xds/index.ts';

/** How long a change's trace waits for the ACKs of its pushes before it ends them as `timeout`. */
const ACK_TIMEOUT_MS = 30_000;
/** Per-change catalog spans in one trace at most (a relist can change thousands of objects). */
const MAX_CHANGE_SPANS = 16;

/** One config change being traced: its root span stays open until every snapshot it caused is ACKed. */
interface Change {
  readonly root: TraceSpan;
  readonly store: TraceSpan;
  changes: number;
  readonly kinds: Set<string>;
  readonly keys: Set<string>;
  debounce: TraceSpan | undefined;
  /** Snapshot keys queued or being pushed for this change; the root ends when none is left. */
  open: number;
  /** False when the sampler dropped it: nothing is recorded. */
  readonly sampled: boolean;
}

/** The pushes of one rebuilt snapshot, until every stream of its key has pushed it and each push is answered. */
interface Tracker {
  readonly key: string;
  readonly generatedAt: number;
  changes: Change[];
  /** Identity and proxy kind of the key, shared by its push spans (built once per snapshot, not per push). */
  readonly attrs: SpanAttributes;
  readonly expected: number;
  readonly pushed: Set<string>;
  /** Node uuid -> its push span (one a proxy, not one a type), while one of its responses waits for an answer. */
  readonly proxies: Map<string, ProxyPush>;
  readonly timer: NodeJS.Timeout;
  finished: boolean;
}

/**
 * One proxy's pushes of one snapshot: a span per change. Each type's answer goes into the span's array attributes
 * (set once, at its end); only a type not ACKed is also an event. A span event per ACK made a mesh-wide change
 * thousands of OTel calls, run a few times per process and so mostly unoptimized: most of tracing's cost.
 */
interface ProxyPush {
  readonly spans: TraceSpan[];
  readonly startedAt: number;
  /** The types written (short names), their versions and each one's answer time after `startedAt` (-1: none yet). */
  readonly types: string[];
  readonly versions: string[];
  readonly answerMs: number[];
  /** Type URL -> its index in `types`, while written and not answered. */
  readonly awaiting: Map<string, number>;
  responses: number;
  /** When its last answer came (the span's end once the stream is done). */
  lastAt: number | undefined;
  /** The stream finished writing this snapshot (`onPushDone`): no more responses of it will come. */
  done: boolean;
  /** `ack` until a type gets another outcome; the first NACK's message. */
  result: string;
  error: string | undefined;
}

/** What the controller reports to the tracing (each a no-op when no tracer is configured). */
export interface RebuildTracing {
  /** A change (of the sink call in progress) queued this snapshot key. */
  queued(key: string): void;
  /** The debouncer let keys go; a change's debounce span ends once none of its keys is still held (`held`; absent: all let go). */
  flushed(held?: (key: string) => boolean): void;
  /** A rebuild of `key` starts: the changes it serves, or undefined when none is traced. */
  rebuildStarting(key: string): Change[] | undefined;
  /** It built a snapshot (its `generatedAt`), about to be set, that `streams` streams will push. */
  rebuildDone(key: string, changes: Change[], r: RebuildInfo & { generatedAt: number; resources: number; streams: number }): void;
  /** It failed (the last good snapshot stays). */
  rebuildFailed(key: string, changes: Change[], r: RebuildInfo & { error: string }): void;
}

interface RebuildInfo {
  readonly identity: string;
  readonly kind: string;
  readonly startedAt: number;
}

/**
 * One trace per config change: source sink call → store → catalog (affected) → debounce → generate (per
 * snapshot key) → push (per proxy, each type's answer in its attributes, an event per NACK) ended by its last answer. The sink calls one source makes in one
 * synchronous run (one file reload) are one change. With no tracer, `wrapSink` returns calls straight through
 * after one check and nothing else is allocated.
 */
export class ChangeTracing implements RebuildTracing {
  #tracer: Tracer | undefined;
  readonly #keyOf: (node: NodeIdentity) => string;
  /** The change of the sink call running right now (set only while a traced sink call runs). */
  #active: Change | undefined;
  /** Changes of a source in the current synchronous run, sealed in a microtask. */
  readonly #runs = new Map<string, Change>();
  /** Changes queued per snapshot key, waiting for its rebuild. */
  readonly #pending = new Map<string, Set<Change>>();
  /** The open tracker of each key (its newest snapshot). */
  readonly #trackers = new Map<string, Tracker>();
  readonly #debouncing = new Set<Change>();
  /** Change lists a rebuild already released (so a later failure of the same rebuild does not release twice). */
  readonly #settled = new WeakSet<Change[]>();

  constructor(keyOf: (node: NodeIdentity) => string) {
    this.#keyOf = keyOf;
  }

  /** Sets the tracers (at the xDS server's start, once every observability plugin exists). */
  use(tracers: readonly Tracer[]): void {
    this.#tracer = tracers.length === 0 ? undefined : tracers.length === 1 ? tracers[0] : fanOut(tracers);
  }

  get enabled(): boolean {
    return this.#tracer !== undefined;
  }

  wrapSink(source: string, sink: SourceSink): SourceSink {
    const traced =
      <A extends unknown[]>(f: (...a: A) => void) =>
      (...args: A): void => {
        if (!this.#tracer) return f(...args);
        this.#active = this.#runs.get(source) ?? this.#begin(source);
        try {
          f(...args);
        } finally {
          this.#active = undefined;
        }
      };
    return {
      ...sink,
      apply: traced((obj: Parameters<SourceSink['apply']>[0], origin?: Parameters<SourceSink['apply']>[1]) => sink.apply(obj, origin)),
      delete: traced((key: Parameters<SourceSink['delete']>[0], origin?: Parameters<SourceSink['delete']>[1]) => sink.delete(key, origin)),
      replaceAll: traced((objects: Parameters<SourceSink['replaceAll']>[0]) => sink.replaceAll(objects)),
    };
  }

  /** Store listener: counts the change into the active sink call's trace. */
  onStoreChange(change: StoreChange): void {
    const c = this.#active;
    if (!c?.sampled) return;
    c.changes++;
    c.kinds.add(change.kind);
  }

  /** Wraps the catalog's affected-set computation of one change in a span. */
  affected<T extends 'all' | ReadonlySet<string>>(change: StoreChange, compute: () => T): T {
    const c = this.#active;
    if (!c?.sampled || c.changes > MAX_CHANGE_SPANS) return compute();
    const span = c.store.child(ChangeSpans.catalog, { [A.key]: change.key });
    const result = compute();
    span.setAttributes({ [A.affected]: result === 'all' ? 'all' : result.size });
    span.end();
    return result;
  }

  queued(key: string): void {
    const c = this.#active;
    if (!c?.sampled || c.keys.has(key)) return;
    c.keys.add(key);
    c.open++;
    let set = this.#pending.get(key);
    if (!set) this.#pending.set(key, (set = new Set()));
    set.add(c);
  }

  flushed(held?: (key: string) => boolean): void {
    for (const c of this.#debouncing) {
      if (held && someOf(c.keys, held)) continue;
      c.debounce?.end();
      c.debounce = undefined;
      this.#debouncing.delete(c);
    }
  }

  rebuildStarting(key: string): Change[] | undefined {
    const pending = this.#pending.get(key);
    const previous = this.#trackers.get(key);
    if (!pending && !previous) return undefined;
    this.#pending.delete(key);
    const changes = new Set(pending);
    // A newer snapshot replaces the one still being pushed: its changes wait for this one's ACKs instead.
    if (previous) {
      this.#finish(previous, 'superseded');
      for (const c of previous.changes) {
        if (!changes.has(c)) {
          changes.add(c);
          c.open++;
        }
      }
      for (const c of previous.changes) this.#release(c);
    }
    return changes.size ? [...changes] : undefined;
  }

  rebuildDone(key: string, changes: Change[], r: RebuildInfo & { generatedAt: number; resources: number; streams: number }): void {
    const now = preciseNow();
    for (const c of changes) c.root.child(ChangeSpans.generate, { [A.identity]: r.identity, [A.proxyKind]: r.kind, [A.resources]: r.resources }, r.startedAt).end({ endTime: now });
    if (r.streams === 0) {
      this.#settled.add(changes);
      for (const c of changes) this.#release(c);
      return;
    }
    const tracker: Tracker = {
      key,
      generatedAt: r.generatedAt,
      changes,
      attrs: { [A.identity]: r.identity, [A.proxyKind]: r.kind },
      expected: r.streams,
      pushed: new Set(),
      proxies: new Map(),
      timer: setTimeout(() => this.#finish(tracker, 'timeout'), ACK_TIMEOUT_MS),
      finished: false,
    };
    tracker.timer.unref();
    this.#trackers.set(key, tracker);
  }

  rebuildFailed(key: string, changes: Change[], r: RebuildInfo & { error: string }): void {
    if (this.#settled.has(changes)) return;
    const t = this.#trackers.get(key);
    if (t && t.changes === changes) {
      // The snapshot was built but refused (inconsistent): nothing of it is pushed.
      this.#finish(t, undefined);
      for (const c of changes) c.root.setAttributes({ [A.result]: 'build_failed' });
    } else for (const c of changes) c.root.child(ChangeSpans.generate, { [A.identity]: r.identity, [A.proxyKind]: r.kind }, r.startedAt).end({ error: r.error });
    for (const c of changes) this.#release(c);
  }

  /** xDS server hooks: pushes and their answers, matched to the tracker of the snapshot they came from. */
  readonly hooks: Required<Pick<XdsHooks, 'onPush' | 'onAck' | 'onNack' | 'onPushDone' | 'onStreamClose'>> = {
    onPush: (e) => {
      const t = this.#trackers.get(this.#keyOf(e.node));
      if (!t || t.generatedAt !== e.generatedAt) return;
      let p = t.proxies.get(e.node.uuid);
      if (!p) {
        const attrs = { ...t.attrs, [A.nodeId]: e.node.uuid };
        p = {
          spans: t.changes.map((c) => c.root.child(ChangeSpans.push, attrs, e.sentAt)),
          startedAt: e.sentAt,
          types: [],
          versions: [],
          answerMs: [],
          awaiting: new Map(),
          responses: 0,
          lastAt: undefined,
          done: false,
          result: 'ack',
          error: undefined,
        };
        t.proxies.set(e.node.uuid, p);
      }
      p.responses++;
      const name = shortType(e.typeUrl);
      let i = p.types.indexOf(name);
      if (i < 0) i = p.types.push(name) - 1;
      p.versions[i] = e.version;
      p.answerMs[i] = -1;
      p.awaiting.set(e.typeUrl, i);
    },
    onPushDone: (e) => {
      const t = this.#trackers.get(this.#keyOf(e.node));
      if (!t || t.generatedAt !== e.generatedAt) return;
      t.pushed.add(e.node.uuid);
      const p = t.proxies.get(e.node.uuid);
      if (p) {
        p.done = true;
        if (p.awaiting.size === 0) this.#endPush(t, e.node.uuid, p, p.lastAt);
      }
      this.#check(t);
    },
    onAck: (e) => this.#answer(e.node, e.typeUrl, e.version, e.at, 'ack'),
    onNack: (e) => this.#answer(e.node, e.typeUrl, e.version, e.at, 'nack', e.message),
    onStreamClose: (node) => {
      const t = this.#trackers.get(this.#keyOf(node));
      if (!t) return;
      const p = t.proxies.get(node.uuid);
      if (p) this.#giveUp(t, node.uuid, p, 'closed', 'stream closed before the answer');
      t.pushed.add(node.uuid);
      this.#check(t);
    },
  };

  #answer(node: NodeIdentity, typeUrl: string, version: string, at: number, result: 'ack' | 'nack', message?: string): void {
    const t = this.#trackers.get(this.#keyOf(node));
    const p = t?.proxies.get(node.uuid);
    const i = p?.awaiting.get(typeUrl);
    if (!t || !p || i === undefined || p.versions[i] !== version) return;
    p.awaiting.delete(typeUrl);
    p.lastAt = at;
    p.answerMs[i] = Math.round((at - p.startedAt) * 1000) / 1000;
    if (result === 'nack') {
      const attrs: SpanAttributes = { [A.typeUrl]: typeUrl, [A.version]: version, [A.result]: result, [A.error]: message ?? '' };
      for (const s of p.spans) s.event(ChangeSpans.answer, attrs, at);
    }
    if (result === 'nack' && p.result === 'ack') {
      p.result = 'nack';
      p.error = message;
    }
    if (p.done && p.awaiting.size === 0) {
      this.#endPush(t, node.uuid, p, at);
      this.#check(t);
    }
  }

  /** Ends a proxy's push span with an event (`result`) for each type still unanswered. */
  #giveUp(t: Tracker, uuid: string, p: ProxyPush, result: 'timeout' | 'superseded' | 'closed', error?: string): void {
    for (const [typeUrl, i] of p.awaiting) for (const s of p.spans) s.event(ChangeSpans.answer, { [A.typeUrl]: typeUrl, [A.version]: p.versions[i] ?? '', [A.result]: result });
    if (p.awaiting.size > 0 && p.result === 'ack') {
      p.result = result;
      p.error = error;
    }
    p.awaiting.clear();
    this.#endPush(t, uuid, p, undefined);
  }

  #endPush(t: Tracker, uuid: string, p: ProxyPush, at: number | undefined): void {
    t.proxies.delete(uuid);
    const attrs = { [A.responses]: p.responses, [A.result]: p.result, [A.types]: p.types, [A.versions]: p.versions, [A.answerMs]: p.answerMs };
    for (const s of p.spans) {
      s.setAttributes(attrs);
      s.end({ ...(at === undefined ? {} : { endTime: at }), ...(p.error === undefined ? {} : { error: p.error }) });
    }
  }

  #check(t: Tracker): void {
    if (!t.finished && t.pushed.size >= t.expected && t.proxies.size === 0) {
      this.#finish(t, undefined);
      for (const c of t.changes) this.#release(c);
    }
  }

  /** Ends what is still open in a tracker (`result` for unanswered pushes). Its changes are released by the caller. */
  #finish(t: Tracker, result: 'timeout' | 'superseded' | undefined): void {
    if (t.finished) return;
    t.finished = true;
    clearTimeout(t.timer);
    if (this.#trackers.get(t.key) === t) this.#trackers.delete(t.key);
    for (const [uuid, p] of t.proxies) this.#giveUp(t, uuid, p, result ?? 'closed');
    t.proxies.clear();
    if (result === 'timeout') for (const c of t.changes) this.#release(c);
  }

  #begin(source: string): Change {
    const start = preciseNow();
    const root = this.#tracer!.startTrace(ChangeSpans.change, { [A.source]: source }, start);
    const c: Change = {
      root: root ?? NOOP_SPAN,
      store: root ? root.child(ChangeSpans.store, { [A.source]: source }, start) : NOOP_SPAN,
      changes: 0,
      kinds: new Set(),
      keys: new Set(),
      debounce: undefined,
      open: 1, // held by the sink run until it is sealed
      sampled: root !== undefined,
    };
    this.#runs.set(source, c);
    queueMicrotask(() => this.#seal(source, c));
    return c;
  }

  /** The source's synchronous run ended: close the store span, start the debounce span, drop the run's hold. */
  #seal(source: string, c: Change): void {
    this.#runs.delete(source);
    if (!c.sampled) return;
    c.store.end();
    c.root.setAttributes({ [A.changes]: c.changes, [A.kinds]: [...c.kinds].sort().join(','), [A.affectedSnapshots]: c.keys.size });
    if (c.keys.size > 0) {
      c.debounce = c.root.child(ChangeSpans.debounce);
      this.#debouncing.add(c);
    }
    this.#release(c);
  }

  #release(c: Change): void {
    if (--c.open > 0) return;
    c.debounce?.end();
    this.#debouncing.delete(c);
    c.root.end();
  }
}

/** `type.googleapis.com/envoy.config.cluster.v3.Cluster` -> `Cluster` (memoized: a handful of type URLs). */
const shortTypes = new Map<string, string>();
function shortType(typeUrl: string): string {
  let name = shortTypes.get(typeUrl);
  if (name === undefined) shortTypes.set(typeUrl, (name = typeUrl.slice(typeUrl.lastIndexOf('.') + 1)));
  return name;
}

function someOf(keys: Iterable<string>, test: (key: string) => boolean): boolean {
  for (const k of keys) if (test(k)) return true;
  return false;
}

const NOOP_SPAN: TraceSpan = { child: () => NOOP_SPAN, setAttributes() {}, event() {}, end() {} };

function fanOut(tracers: readonly Tracer[]): Tracer {
  const combine = (spans: TraceSpan[]): TraceSpan => ({
    child: (name, attributes, startTime) => combine(spans.map((s) => s.child(name, attributes, startTime))),
    setAttributes: (a) => spans.forEach((s) => s.setAttributes(a)),
    event: (n, a, t) => spans.forEach((s) => s.event(n, a, t)),
    end: (o) => spans.forEach((s) => s.end(o)),
  });
  return {
    startTrace: (name, attributes, startTime) => {
      const spans = tracers.map((t) => t.startTrace(name, attributes, startTime)).filter((s): s is TraceSpan => s !== undefined);
      return spans.length ? combine(spans) : undefined;
    },
  };
}
