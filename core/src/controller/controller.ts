import { identityKey } from '@trellis/plugin-sdk';
import type { Identity, Logger, Metrics, NodeIdentity, ProxyPlugin, XdsResourceFactory } from '@trellis/plugin-sdk';
import type { Catalog } from '../catalog/index.ts';
import type { StoreChange } from '../store/index.ts';
import { createDebouncer, NodeRejectedError, preciseNow, Snapshot, type Debouncer, type SnapshotCache } from '../xds/index.ts';
import { errorFields } from '../bus/bus.ts';
import type { WorkloadCertificates } from './certificates.ts';
import { RebuildQueue } from './rebuild-queue.ts';

interface Connected {
  /** A representative node of this snapshot key (every node under one key shares identity and kind). */
  readonly node: NodeIdentity;
  readonly backend: ProxyPlugin;
  streams: number;
}

export interface MeshControllerDeps {
  readonly catalog: Catalog;
  readonly cache: SnapshotCache;
  readonly resources: XdsResourceFactory;
  /** Proxy backends by node-id kind (`sidecar`, `grpc`). */
  readonly backends: ReadonlyMap<string, ProxyPlugin>;
  readonly certificates: WorkloadCertificates;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly debounce: { readonly quietMs: number; readonly maxDelayMs: number };
  /** Snapshots rebuilt at once (independent identities; one key is never rebuilt twice at once). Default 16. */
  readonly rebuildConcurrency?: number;
}

/**
 * Keeps the xDS snapshot of every connected proxy family current. A snapshot is built when the first proxy of
 * an identity and kind connects, rebuilt (debounced) only for the identities a change affects, and dropped
 * when the last such proxy disconnects. A failed build keeps the last good snapshot.
 */
export class MeshController {
  readonly #d: MeshControllerDeps;
  readonly #connected = new Map<string, Connected>();
  readonly #debouncer: Debouncer;
  readonly #builds;
  readonly #buildErrors;
  readonly #buildSeconds;
  readonly #held: () => void;
  readonly #queue: RebuildQueue;

  constructor(deps: MeshControllerDeps) {
    this.#d = deps;
    this.#builds = deps.metrics.counter({ name: 'trellis_snapshot_builds_total', help: 'Proxy snapshots built.', labelNames: ['kind'] });
    this.#buildErrors = deps.metrics.counter({ name: 'trellis_snapshot_build_errors_total', help: 'Snapshot builds that failed (the last good one stays).', labelNames: ['kind'] });
    this.#buildSeconds = deps.metrics.histogram({ name: 'trellis_snapshot_build_duration_seconds', help: 'Time to compute and encode one snapshot.', labelNames: ['kind'] });
    const held = deps.metrics.gauge({ name: 'trellis_snapshots', help: 'Snapshots held (one per connected identity and proxy kind).' });
    this.#held = () => held.set(this.#connected.size);
    this.#queue = new RebuildQueue(deps.rebuildConcurrency ?? 16, (key) => this.#rebuild(key));
    this.#debouncer = createDebouncer({ quietMs: deps.debounce.quietMs, maxDelayMs: deps.debounce.maxDelayMs }, (keys) => {
      for (const key of keys) void this.#queue.request(key);
    });
  }

  /** Called by the xDS server when a proxy's stream is authenticated; resolves once its snapshot exists. */
  async nodeConnected(node: NodeIdentity): Promise<void> {
    const backend = this.#d.backends.get(node.kind);
    if (!backend)
      throw new NodeRejectedError(`no proxy backend serves node kind "${node.kind}" (configured: ${[...this.#d.backends.keys()].join(', ') || 'none'})`, {
        status: 'FAILED_PRECONDITION',
        reason: 'unknown_kind',
      });
    const key = this.#d.cache.keyOf(node);
    const entry = this.#connected.get(key);
    if (entry) {
      entry.streams++;
      if (this.#d.cache.getSnapshot(key)) return;
    } else this.#connected.set(key, { node, backend, streams: 1 });
    this.#held();
    await this.#queue.request(key);
  }

  nodeDisconnected(node: NodeIdentity): void {
    const key = this.#d.cache.keyOf(node);
    const entry = this.#connected.get(key);
    if (!entry) return;
    if (--entry.streams <= 0) {
      this.#connected.delete(key);
      this.#d.cache.clearSnapshot(key);
      this.#held();
    }
  }

  /** A store change: queue the connected snapshots whose identity's view it affects. */
  onStoreChange(change: StoreChange): void {
    const affected = this.#d.catalog.affected(change);
    for (const [key, c] of this.#connected) if (affected === 'all' || affected.has(identityKey(c.node))) this.#debouncer.add(key);
  }

  /** A workload certificate was re-issued: proxies that receive secrets for that identity need new SDS. */
  onCertificateRotated(identity: Identity | undefined): void {
    for (const [key, c] of this.#connected) {
      if (!c.backend.servesSecrets) continue;
      if (!identity || identityKey(identity) === identityKey(c.node)) this.#debouncer.add(key);
    }
  }

  /** Keys currently served, with their stream counts (for debug output and tests). */
  connected(): { key: string; streams: number }[] {
    return [...this.#connected].map(([key, c]) => ({ key, streams: c.streams }));
  }

  /** Waits for queued rebuilds (tests; shutdown). */
  async settle(): Promise<void> {
    this.#debouncer.flush();
    await this.#queue.idle();
  }

  stop(): void {
    this.#debouncer.cancel();
  }

  async #rebuild(key: string): Promise<void> {
    const c = this.#connected.get(key);
    if (!c) return;
    const t0 = preciseNow();
    const kind = c.node.kind;
    try {
      const identity: Identity = { namespace: c.node.namespace, serviceAccount: c.node.serviceAccount };
      const view = this.#d.catalog.viewFor(identity);
      const certificate = c.backend.servesSecrets ? await this.#d.certificates.workload(identity) : undefined;
      const resources = c.backend.generate(view, { node: c.node, resources: this.#d.resources, ...(certificate ? { certificate } : {}) });
      const result = this.#d.cache.setSnapshot(key, new Snapshot(resources, { generatedAt: t0 }));
      if (!result.ok) throw new Error(`inconsistent snapshot: ${result.problems.join('; ')}`);
      this.#builds.inc({ kind });
    } catch (err) {
      this.#buildErrors.inc({ kind });
      this.#d.logger.error('snapshot build failed; proxies keep their last good config', { key, err: errorFields(err) });
    } finally {
      this.#buildSeconds.observe((preciseNow() - t0) / 1000, { kind });
    }
  }
}
