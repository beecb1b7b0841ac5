/**
 * Writes the core's Gateway API route status (`coreServices.routeStatus`) back to HTTPRoute / GRPCRoute
 * objects through their `/status` subresource, as Gateway API implementations do:
 * - only the `status.parents[]` entries under our `controllerName` are replaced; other controllers' entries are
 *   kept as the server has them (a merge patch replaces the whole list, so the patch carries the object's
 *   `resourceVersion`: a concurrent writer makes it fail with 409 instead of being overwritten);
 * - `observedGeneration` on every condition; `lastTransitionTime` kept unless the condition's status changed;
 * - a write only when what we compute differs from what the server has (the informer's cache, ignoring times):
 *   our own write comes back as a watch event that then compares equal, so there is no write loop; a version
 *   we already wrote from is not written again while its watch event is on its way;
 * - batched (a quiet window after changes), through the source's rate limiter, one request at a time, retried
 *   on 409 (re-read, recompute) and on 5xx / 429 / transport errors with capped backoff; nothing here blocks or
 *   fails the mesh: failures are logged and counted.
 *
 * Several replicas: every replica writes, and the writes are idempotent. Replicas reading the same API server
 * compute the same conditions; the first write makes the server equal to what the others compute, so they skip
 * it, and two racing writes are serialised by the resourceVersion precondition (the loser re-reads, finds the
 * status equal, and stops). No leader election is needed for this, and a replica never undoes another's entry.
 */
import { backoffDelay, type KubeObject, type Logger, type RouteConditionView, type RouteParentRefView, type RouteStatusService, type RouteStatusView } from '@trellis/plugin-sdk';
import { ApiError, type ApiClient } from './api.ts';

/** A route as the informer caches it, and the path of its object on the server. */
export interface CachedRoute {
  readonly obj: KubeObject;
  readonly path: string;
}

export interface RouteStatusWriterOptions {
  readonly api: ApiClient;
  readonly status: RouteStatusService;
  readonly cached: (kind: 'HTTPRoute' | 'GRPCRoute', namespace: string, name: string) => CachedRoute | undefined;
  readonly logger: Logger;
  /** Quiet window before a batch of writes (default 200 ms). */
  readonly quietMs?: number;
  readonly backoff?: { readonly baseMs: number; readonly maxMs: number };
  readonly now?: () => Date;
}

/** `status.parents[]` entry as the Gateway API defines it (RouteParentStatus). */
interface ParentStatus {
  parentRef: Record<string, unknown>;
  controllerName: string;
  conditions: Condition[];
}

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
/** metav1.Condition's message limit. */
const MAX_MESSAGE = 32768;
const CONFLICT_RETRIES = 3;

/** A parentRef with the Gateway API defaults filled in, as one comparable string. */
function refKey(ref: unknown, routeNs: string): string {
  const r = isRec(ref) ? ref : {};
  return JSON.stringify([
    typeof r.group === 'string' ? r.group : 'gateway.networking.k8s.io',
    typeof r.kind === 'string' ? r.kind : 'Gateway',
    typeof r.namespace === 'string' ? r.namespace : routeNs,
    r.name,
    r.sectionName ?? null,
    r.port ?? null,
  ]);
}

function parentsOf(obj: KubeObject): unknown[] {
  const status = (obj as { status?: unknown }).status;
  const parents = isRec(status) ? status.parents : undefined;
  return Array.isArray(parents) ? parents : [];
}

function refOut(r: RouteParentRefView): Rec {
  return { group: r.group, kind: r.kind, namespace: r.namespace, name: r.name, ...(r.sectionName !== undefined && { sectionName: r.sectionName }), ...(r.port !== undefined && { port: r.port }) };
}

interface Desired {
  readonly key: string;
  readonly ref: RouteParentRefView;
  readonly conditions: readonly RouteConditionView[];
}

const rfc3339 = (d: Date): string => d.toISOString().replace(/\.\d+Z$/, 'Z');

export class RouteStatusWriter {
  readonly #o: RouteStatusWriterOptions;
  /** `kind/ns/name` -> `resourceVersion|desired` last written (or refused), so a version is written from once. */
  readonly #attempted = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #failures = 0;
  #stopped = true;
  #unsubscribe: (() => void) | undefined;
  /** For tests, the benchmark and /debug/kubernetes. */
  readonly stats = { flushes: 0, patches: 0, conflicts: 0, failures: 0, lastError: undefined as string | undefined };

  constructor(opts: RouteStatusWriterOptions) {
    this.#o = opts;
  }

  get controllerName(): string {
    return this.#o.status.controllerName;
  }

  start(): void {
    this.#stopped = false;
    this.#unsubscribe ??= this.#o.status.onChange(() => this.schedule());
    this.schedule();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** Something changed (the store, or a route on the server): write what differs after the quiet window. */
  schedule(delayMs = this.#o.quietMs ?? 200): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#running = this.#flush().finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.schedule();
        }
      });
    }, delayMs);
    this.#timer.unref?.();
  }

  /** No write pending or running. */
  get idle(): boolean {
    return this.#timer === undefined && this.#running === undefined;
  }

  /** Waits for the writes scheduled now (tests). */
  async whenIdle(): Promise<void> {
    while (this.#timer || this.#running) await (this.#running ?? new Promise((r) => setTimeout(r, 20)));
  }

  async #flush(): Promise<void> {
    let failed = false;
    for (const view of this.#o.status.routes()) {
      if (this.#stopped) return;
      try {
        await this.#sync(view);
      } catch (err) {
        failed = true;
        this.stats.failures++;
        this.stats.lastError = (err as Error).message;
        this.#o.logger.warn('route status write failed; retrying with backoff', { kind: view.kind, namespace: view.namespace, name: view.name, err: (err as Error).message });
      }
    }
    this.stats.flushes++;
    if (failed) {
      this.#failures++;
      this.schedule(backoffDelay(this.#failures, this.#o.backoff ?? { baseMs: 500, maxMs: 30_000 }));
    } else this.#failures = 0;
  }

  /** Our entries for `view`, as comparable JSON (no times). */
  #desired(view: RouteStatusView): Desired[] {
    return view.parents
      .filter((p) => p.controllerName === this.controllerName)
      .map((p) => ({ key: refKey(p.parentRef, view.namespace), ref: p.parentRef, conditions: p.conditions }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  #comparable(entries: readonly { key: string; conditions: readonly { type: string; status: string; reason: string; message?: string; observedGeneration?: number }[] }[], generation: number | undefined): string {
    return JSON.stringify(
      entries.map((e) => [
        e.key,
        [...e.conditions]
          .map((c) => [c.type, c.status, c.reason, (c.message ?? '').slice(0, MAX_MESSAGE), c.observedGeneration ?? generation ?? null])
          .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
      ]),
    );
  }

  /** What the server holds under our controller name, comparable. */
  #onServer(obj: KubeObject): string {
    const ns = obj.metadata.namespace ?? '';
    const ours = parentsOf(obj)
      .filter((p): p is Rec => isRec(p) && p.controllerName === this.controllerName)
      .map((p) => ({ key: refKey(p.parentRef, ns), conditions: (Array.isArray(p.conditions) ? p.conditions.filter(isRec) : []) as unknown as Condition[] }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return this.#comparable(ours, undefined);
  }

  async #sync(view: RouteStatusView): Promise<void> {
    const cached = this.#o.cached(view.kind, view.namespace, view.name);
    // Not ours (another source's object of the same name) or not in the cache (yet): nothing to write.
    if (!cached || (view.uid !== undefined && cached.obj.metadata.uid !== view.uid)) return;
    const desired = this.#desired(view);
    const want = this.#comparable(desired, view.generation);
    const id = `${view.kind}/${view.namespace}/${view.name}`;
    let obj = cached.obj;
    for (let attempt = 0; ; attempt++) {
      if (this.#onServer(obj) === want) {
        this.#attempted.delete(id);
        return;
      }
      const mark = `${obj.metadata.resourceVersion ?? ''}|${want}`;
      if (this.#attempted.get(id) === mark) return; // written (or refused) from this version: wait for the server's next one
      try {
        await this.#o.api.patch(`${cached.path}/status`, { metadata: { resourceVersion: obj.metadata.resourceVersion }, status: { parents: this.#parents(obj, desired, view.generation) } });
        this.stats.patches++;
        this.#attempted.set(id, mark);
        return;
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        if (err.code === 404) return; // deleted meanwhile: its watch event follows
        if (err.code === 409 && attempt < CONFLICT_RETRIES) {
          this.stats.conflicts++;
          obj = (await this.#o.api.get(cached.path)) as KubeObject;
          continue;
        }
        if (err.code === 0 || err.code === 409 || err.code === 429 || err.code >= 500) throw err;
        // 4xx (forbidden, invalid): the same body would be refused again; log once per version.
        this.#attempted.set(id, mark);
        this.stats.lastError = err.message;
        this.#o.logger.warn('the API server refused a route status write', { kind: view.kind, namespace: view.namespace, name: view.name, err: err.message });
        return;
      }
    }
  }

  /** The full `status.parents` to send: other controllers' entries unchanged, then ours. */
  #parents(obj: KubeObject, desired: readonly Desired[], generation: number | undefined): unknown[] {
    const ns = obj.metadata.namespace ?? '';
    const now = rfc3339((this.#o.now ?? (() => new Date()))());
    const existing = parentsOf(obj).filter(isRec);
    const others = existing.filter((p) => p.controllerName !== this.controllerName);
    const ours = new Map(existing.filter((p) => p.controllerName === this.controllerName).map((p) => [refKey(p.parentRef, ns), p]));
    return [
      ...others,
      ...desired.map((d): ParentStatus => {
        const prev = ours.get(d.key);
        const prevConds = Array.isArray(prev?.conditions) ? prev.conditions.filter(isRec) : [];
        return {
          parentRef: refOut(d.ref),
          controllerName: this.controllerName,
          conditions: d.conditions.map((c): Condition => {
            const before = prevConds.find((p) => p.type === c.type);
            const since = before && before.status === c.status && typeof before.lastTransitionTime === 'string' ? before.lastTransitionTime : now;
            return {
              type: c.type,
              status: c.status,
              reason: c.reason,
              message: (c.message ?? '').slice(0, MAX_MESSAGE),
              ...(generation !== undefined && { observedGeneration: generation }),
              lastTransitionTime: since,
            };
          }),
        };
      }),
    ];
  }
}
