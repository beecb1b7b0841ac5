/**
 * The Kubernetes source: one supervised informer (Reflector) per watched kind, and mesh membership. A
 * namespace is in the mesh when its `trellis.io/monitored-by` or `openservicemesh.io/monitored-by` label
 * names this mesh; objects of other namespaces never reach the store, and when a namespace leaves the mesh its
 * objects are deleted from the store (when it joins, they are applied). MeshConfig objects are mesh-wide
 * configuration and are read from any namespace.
 *
 * Nothing is written to the store before every informer has completed its first full list; then one
 * `replaceAll` writes the whole view, and afterwards only differences are applied. Ready from then on; an
 * informer failing later keeps the last good state (the readiness reason and /debug/kubernetes say which).
 */
import { keyOf, objectKeyString, type Counter, type Gauge, type KubeObject, type Logger, type Readiness, type RouteStatusService, type SourcePlugin, type SourceSink } from '@trellis/plugin-sdk';
import type { ApiClient } from './api.ts';
import { kindId, type WatchedKind } from './kinds.ts';
import { Reflector, type ReflectorHealth } from './reflector.ts';
import { RouteStatusWriter, type CachedRoute } from './route-status-writer.ts';

export const MEMBERSHIP_LABELS = ['trellis.io/monitored-by', 'openservicemesh.io/monitored-by'] as const;

export interface KubernetesSourceMetrics {
  readonly restarts: Counter;
  readonly objects: Gauge;
  readonly lastEventAge: Gauge;
  readonly synced: Gauge;
}

export interface KubernetesSourceOptions {
  readonly api: ApiClient;
  readonly kinds: readonly WatchedKind[];
  readonly meshName: () => string;
  readonly sink: SourceSink;
  readonly logger: Logger;
  readonly source: string;
  readonly staleAfterMs: number;
  readonly resyncMs: number;
  readonly backoff?: { readonly baseMs: number; readonly maxMs: number };
  readonly watchTimeoutSeconds?: number;
  readonly absentRetryMs?: number;
  readonly metrics?: KubernetesSourceMetrics;
  /** The core's route status: written back to the routes' `/status` when given. */
  readonly routeStatus?: RouteStatusService;
  /** Quiet window before route status writes (default 200 ms). */
  readonly statusQuietMs?: number;
  /** Stopped with the source (the cluster services' retries). */
  readonly alsoStop?: readonly { stop(): void }[];
}

const isMeshWide = (o: KubeObject): boolean => o.kind === 'MeshConfig';
const ROUTE_GROUP = 'gateway.networking.k8s.io';
const isRoute = (k: Pick<WatchedKind, 'group' | 'kind'>): boolean => k.group === ROUTE_GROUP && (k.kind === 'HTTPRoute' || k.kind === 'GRPCRoute');
const sameJson = (a: unknown, b: unknown): boolean => a === b || JSON.stringify(a) === JSON.stringify(b);

/**
 * A route whose spec (generation), labels and annotations are unchanged: a status write (ours or another
 * controller's). The store has nothing to do with it, so it is not applied (no mesh rebuild per status write).
 */
function statusOnlyChange(prev: KubeObject, next: KubeObject): boolean {
  return (
    isRoute({ group: next.apiVersion.split('/')[0] ?? '', kind: next.kind }) &&
    prev.apiVersion === next.apiVersion &&
    prev.metadata.generation !== undefined &&
    prev.metadata.generation === next.metadata.generation &&
    sameJson(prev.metadata.labels, next.metadata.labels) &&
    sameJson(prev.metadata.annotations, next.metadata.annotations) &&
    prev.metadata.deletionTimestamp === next.metadata.deletionTimestamp
  );
}

export class KubernetesSource implements SourcePlugin {
  readonly #o: KubernetesSourceOptions;
  readonly #reflectors: Reflector[];
  readonly #namespaces: Reflector;
  /** Namespaces in the mesh now. */
  readonly #members = new Set<string>();
  /** What the store holds from this source, by object key. */
  readonly #applied = new Map<string, KubeObject>();
  #written = false;
  /** Counters for tests and the benchmark. */
  readonly stats = { applied: 0, deleted: 0, replaceAll: 0, statusOnly: 0 };
  /** Writes route status back (when the core's route status was given). */
  readonly statusWriter: RouteStatusWriter | undefined;

  constructor(opts: KubernetesSourceOptions) {
    this.#o = opts;
    this.#reflectors = opts.kinds.map(
      (kind) =>
        new Reflector({
          api: opts.api,
          kind,
          logger: opts.logger,
          staleAfterMs: opts.staleAfterMs,
          resyncMs: opts.resyncMs,
          backoff: opts.backoff ?? { baseMs: 200, maxMs: 30_000 },
          watchTimeoutSeconds: opts.watchTimeoutSeconds ?? 300,
          ...(opts.absentRetryMs !== undefined && { absentRetryMs: opts.absentRetryMs }),
          onChange: (up, del) => {
            this.#changed(kind, up, del);
            if (isRoute(kind)) this.statusWriter?.schedule();
          },
          onRestart: (reason) => opts.metrics?.restarts.inc({ kind: kindId(kind), reason }),
          onListed: () => {
            if (!this.#written && this.#reflectors.every((r) => r.synced)) this.#writeAll();
          },
        }),
    );
    const ns = this.#reflectors.find((r) => r.kind.group === '' && r.kind.kind === 'Namespace');
    if (!ns) throw new Error('the kubernetes source needs the Namespace kind');
    this.#namespaces = ns;
    this.statusWriter = opts.routeStatus
      ? new RouteStatusWriter({
          api: opts.api,
          status: opts.routeStatus,
          cached: (kind, namespace, name) => this.cachedRoute(kind, namespace, name),
          logger: opts.logger,
          ...(opts.statusQuietMs !== undefined && { quietMs: opts.statusQuietMs }),
          ...(opts.backoff && { backoff: opts.backoff }),
        })
      : undefined;
  }

  start(): void {
    for (const r of this.#reflectors) r.start();
  }

  async stop(): Promise<void> {
    for (const s of this.#o.alsoStop ?? []) s.stop();
    await this.statusWriter?.stop();
    await Promise.all(this.#reflectors.map((r) => r.stop()));
  }

  /** A route as the informer caches it (a member namespace's only), and its path on the server. */
  cachedRoute(kind: 'HTTPRoute' | 'GRPCRoute', namespace: string, name: string): CachedRoute | undefined {
    if (!this.#members.has(namespace)) return undefined;
    const r = this.#reflectors.find((x) => x.kind.group === ROUTE_GROUP && x.kind.kind === kind);
    const obj = r?.get(namespace, name);
    if (!r || !obj || r.version === undefined || r.plural === undefined) return undefined;
    return { obj, path: `/apis/${ROUTE_GROUP}/${r.version}/namespaces/${encodeURIComponent(namespace)}/${r.plural}/${encodeURIComponent(name)}` };
  }

  health(): ReflectorHealth[] {
    return this.#reflectors.map((r) => r.health());
  }

  /** Updates the per-informer gauges (called when metrics are collected). */
  collect(): void {
    const m = this.#o.metrics;
    if (!m) return;
    for (const h of this.health()) {
      m.objects.set(h.objects, { kind: h.kind });
      m.synced.set(h.synced ? 1 : 0, { kind: h.kind });
      if (h.lastEventAgeSeconds !== undefined) m.lastEventAge.set(h.lastEventAgeSeconds, { kind: h.kind });
    }
  }

  readiness(): Readiness {
    const health = this.health();
    const server = this.#o.api.server;
    if (!this.#written) {
      const waiting = health.filter((h) => !h.synced);
      return {
        ready: false,
        reason: `first full list from ${server} not done for ${waiting.map((h) => `${h.kind} (${h.state}${h.lastError ? `: ${h.lastError}` : ''})`).join(', ')}`,
      };
    }
    const troubled = health.filter((h) => h.state === 'backoff' || h.lastError !== undefined);
    if (troubled.length === 0) return { ready: true };
    return { ready: true, reason: `serving the last good state; ${troubled.map((h) => `${h.kind}: ${h.state}${h.lastError ? ` (${h.lastError})` : ''}`).join('; ')}` };
  }

  #member(ns: string | undefined): boolean {
    return ns !== undefined && this.#members.has(ns);
  }

  #wanted(o: KubeObject): boolean {
    if (o.kind === 'Namespace' && o.apiVersion === 'v1') return this.#members.has(o.metadata.name);
    return isMeshWide(o) || this.#member(o.metadata.namespace);
  }

  #isMemberNs(o: KubeObject): boolean {
    const mesh = this.#o.meshName();
    const labels = o.metadata.labels ?? {};
    return MEMBERSHIP_LABELS.some((l) => labels[l] === mesh);
  }

  #changed(kind: WatchedKind, upserts: readonly KubeObject[], deletes: readonly KubeObject[]): void {
    const touched: KubeObject[] = [...upserts, ...deletes.map((d) => ({ ...d, __deleted: true }))];
    if (kind.group === '' && kind.kind === 'Namespace') {
      const joined: string[] = [];
      const left: string[] = [];
      for (const n of upserts) {
        const now = this.#isMemberNs(n);
        if (now && !this.#members.has(n.metadata.name)) joined.push(n.metadata.name);
        if (!now && this.#members.has(n.metadata.name)) left.push(n.metadata.name);
      }
      for (const n of deletes) if (this.#members.has(n.metadata.name)) left.push(n.metadata.name);
      for (const n of joined) this.#members.add(n);
      for (const n of left) this.#members.delete(n);
      if (joined.length > 0 || left.length > 0) {
        this.#o.logger.info('mesh membership changed', { joined, left });
        const changed = new Set([...joined, ...left]);
        for (const r of this.#reflectors) if (r !== this.#namespaces) for (const o of r.objects()) if (o.metadata.namespace !== undefined && changed.has(o.metadata.namespace)) touched.push(o);
        for (const o of this.#applied.values()) if (o.metadata.namespace !== undefined && changed.has(o.metadata.namespace)) touched.push({ ...o, __deleted: !this.#wanted(o) });
      }
    }
    if (!this.#written) {
      if (this.#reflectors.every((r) => r.synced)) this.#writeAll();
      return;
    }
    for (const o of touched) this.#reconcile(o);
  }

  /** The first write: everything wanted, in one replaceAll. */
  #writeAll(): void {
    const all: { obj: KubeObject; origin: { source: string } }[] = [];
    for (const r of this.#reflectors)
      for (const o of r.objects())
        if (this.#wanted(o)) {
          all.push({ obj: o, origin: { source: this.#o.source } });
          this.#applied.set(objectKeyString(keyOf(o)), o);
        }
    this.#o.sink.replaceAll(all);
    this.stats.replaceAll++;
    this.#written = true;
    this.#o.logger.info('first full list of every informer applied', { objects: all.length, namespacesInMesh: this.#members.size });
    // Route status only once the store holds the full view (never computed from a partial one).
    this.statusWriter?.start();
  }

  /** Makes the store's copy of `o`'s key match the cache and membership. */
  #reconcile(o: KubeObject): void {
    const key = objectKeyString(keyOf(o));
    const deleted = (o as { __deleted?: boolean }).__deleted === true;
    const prev = this.#applied.get(key);
    if (!deleted && this.#wanted(o)) {
      const { __deleted: _, ...clean } = o as KubeObject & { __deleted?: boolean };
      if (prev === clean || (prev && prev.metadata.resourceVersion === clean.metadata.resourceVersion && prev.apiVersion === clean.apiVersion && prev.metadata.labels === clean.metadata.labels)) return;
      if (prev && statusOnlyChange(prev, clean)) {
        this.stats.statusOnly++;
        return;
      }
      this.#applied.set(key, clean);
      this.#o.sink.apply(clean, { source: this.#o.source });
      this.stats.applied++;
    } else if (prev) {
      this.#applied.delete(key);
      this.#o.sink.delete(keyOf(prev), { source: this.#o.source });
      this.stats.deleted++;
    }
  }
}
