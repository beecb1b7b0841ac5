import { LRUCache } from 'lru-cache';
import { identityKey } from '@trellis/plugin-sdk';
import type { Identity, Logger, Metrics, NodeIdentity, ProxyPlugin, XdsResource, XdsResourceFactory } from '@trellis/plugin-sdk';
import type { Catalog } from '../catalog/index.ts';
import type { StoreChange } from '../store/index.ts';
import { NodeRejectedError, preciseNow, Snapshot, TokenBucket, type SnapshotCache, type StreamSource } from '../xds/index.ts';
import { errorFields } from '../bus/bus.ts';
import type { WorkloadCertificates } from './certificates.ts';
import type { ChangeTracing } from './change-tracing.ts';
import { KeyDebouncer, RebuildQueue } from './rebuild-queue.ts';

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
  /**
   * New workload certificates a plaintext source (peer host) may cause per second, and its burst: a plaintext
   * node id is unverified, so without this any local process could mint certificates for any identity.
   * Default 1/s, burst 20.
   */
  readonly plaintextIssuance?: { readonly ratePerSecond: number; readonly burst: number };
  /** Snapshots rebuilt at once (independent identities; one key is never rebuilt twice at once). Default 16. */
  readonly rebuildConcurrency?: number;
  /** Traces of config changes (docs/observability.md); records nothing unless a tracer is configured. */
  readonly tracing?: ChangeTracing;
}

/**
 * Keeps the xDS snapshot of every connected proxy family current. A snapshot is built when the first proxy of
 * an identity and kind connects, rebuilt (debounced) only for the identities a change affects, and dropped
 * when the last such proxy disconnects. A failed build keeps the last good snapshot.
 */
export class MeshController {
  readonly #d: MeshControllerDeps;
  readonly #connected = new Map<string, Connected>();
  readonly #debouncer: KeyDebouncer;
  readonly #builds;
  readonly #buildErrors;
  readonly #buildSeconds;
  readonly #held: () => void;
  readonly #debounceWait;
  readonly #queue: RebuildQueue;
  /** Issuance budget per plaintext source host; least recently seen sources are forgotten past 1024. */
  readonly #issuance: LRUCache<string, TokenBucket>;

  constructor(deps: MeshControllerDeps) {
    this.#d = deps;
    this.#builds = deps.metrics.counter({ name: 'trellis_snapshot_builds_total', help: 'Proxy snapshots built.', labelNames: ['kind'] });
    this.#buildErrors = deps.metrics.counter({ name: 'trellis_snapshot_build_errors_total', help: 'Snapshot builds that failed (the last good one stays).', labelNames: ['kind'] });
    this.#buildSeconds = deps.metrics.histogram({ name: 'trellis_snapshot_build_duration_seconds', help: 'Time to compute and encode one snapshot.', labelNames: ['kind'] });
    const held = deps.metrics.gauge({ name: 'trellis_snapshots', help: 'Snapshots held (one per connected identity and proxy kind).' });
    this.#held = () => held.set(this.#connected.size);
    this.#debounceWait = deps.metrics.histogram({
      name: 'trellis_xds_debounce_wait_seconds',
      help: 'Time a snapshot key waited in the debouncer, from its first pending change to its rebuild being queued.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    });
    this.#issuance = new LRUCache({ max: 1024 });
    this.#queue = new RebuildQueue(deps.rebuildConcurrency ?? 4, (key) => this.#rebuild(key));
    this.#debouncer = new KeyDebouncer({ quietMs: deps.debounce.quietMs, maxDelayMs: deps.debounce.maxDelayMs }, (keys) => {
      const now = Date.now();
      for (const since of keys.values()) this.#debounceWait.observe((now - since) / 1000);
      deps.tracing?.flushed((key) => this.#debouncer.has(key));
      for (const key of keys.keys()) void this.#queue.request(key);
    });
  }

  /**
   * Called by the xDS server when a proxy's stream is authenticated; resolves once its snapshot exists.
   * Throws `NodeRejectedError` to refuse the node (its stream ends with that status and reason).
   */
  async nodeConnected(node: NodeIdentity, source?: StreamSource): Promise<void> {
    const backend = this.#d.backends.get(node.kind);
    if (!backend)
      throw new NodeRejectedError(`no proxy backend serves node kind "${node.kind}" (configured: ${[...this.#d.backends.keys()].join(', ') || 'none'})`, {
        status: 'FAILED_PRECONDITION',
        reason: 'unknown_kind',
      });
    if (backend.servesSecrets && source?.transport === 'plaintext') this.#takeIssuance(node, source.peer);
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
      const id = identityKey(node);
      if (entry.backend.servesSecrets && ![...this.#connected.values()].some((c) => c.backend.servesSecrets && identityKey(c.node) === id))
        this.#d.certificates.release({ namespace: node.namespace, serviceAccount: node.serviceAccount });
    }
  }

  /** A plaintext node whose identity has no cached certificate spends one token of its source's budget. */
  #takeIssuance(node: NodeIdentity, peer: string): void {
    const identity: Identity = { namespace: node.namespace, serviceAccount: node.serviceAccount };
    if (this.#d.certificates.hasWorkload(identity)) return;
    const host = peer.replace(/:\d+$/, '');
    let bucket = this.#issuance.get(host);
    if (!bucket) {
      const { ratePerSecond, burst } = this.#d.plaintextIssuance ?? { ratePerSecond: 1, burst: 20 };
      this.#issuance.set(host, (bucket = new TokenBucket(ratePerSecond, burst)));
    }
    if (!bucket.tryTake())
      throw new NodeRejectedError(
        `certificate issuance for new identities from plaintext source ${host} is at its rate limit (xds.plaintextIssuance); retry with backoff`,
        { status: 'RESOURCE_EXHAUSTED', reason: 'issuance_rate_limited' },
      );
  }

  /** A store change: queue the connected snapshots whose identity's view it affects. */
  onStoreChange(change: StoreChange): void {
    const tracing = this.#d.tracing?.enabled ? this.#d.tracing : undefined;
    const affected = tracing ? tracing.affected(change, () => this.#d.catalog.affected(change)) : this.#d.catalog.affected(change);
    for (const [key, c] of this.#connected)
      if (affected === 'all' || affected.has(identityKey(c.node))) {
        this.#enqueue(key);
        tracing?.queued(key);
      }
  }

  /** A workload certificate was re-issued: proxies that receive secrets for that identity need new SDS. */
  onCertificateRotated(identity: Identity | undefined): void {
    for (const [key, c] of this.#connected) {
      if (!c.backend.servesSecrets) continue;
      if (!identity || identityKey(identity) === identityKey(c.node)) this.#enqueue(key);
    }
  }

  #enqueue(key: string): void {
    this.#debouncer.add(key);
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

  /** One proxy family's resources from `catalog`'s view: what a rebuild sets, and what `preview` compares. */
  async #generate(c: Connected, catalog: Catalog): Promise<readonly XdsResource[]> {
    const identity: Identity = { namespace: c.node.namespace, serviceAccount: c.node.serviceAccount };
    const view = catalog.viewFor(identity);
    const certificate = c.backend.servesSecrets ? await this.#d.certificates.workload(identity) : undefined;
    return c.backend.generate(view, { node: c.node, resources: this.#d.resources, ...(certificate ? { certificate } : {}) });
  }

  /**
   * What every connected family's snapshot would become with `catalog` (a copy of the store with a change
   * applied), next to the snapshot it has now; nothing is stored or sent (`policy diff`).
   */
  async preview(catalog: Catalog): Promise<{ key: string; node: NodeIdentity; current: Snapshot | undefined; next: Snapshot | { error: string } }[]> {
    const out: { key: string; node: NodeIdentity; current: Snapshot | undefined; next: Snapshot | { error: string } }[] = [];
    for (const [key, c] of [...this.#connected].sort(([a], [b]) => a.localeCompare(b))) {
      let next: Snapshot | { error: string };
      try {
        next = new Snapshot(await this.#generate(c, catalog));
      } catch (err) {
        next = { error: (err as Error).message };
      }
      out.push({ key, node: c.node, current: this.#d.cache.getSnapshot(key), next });
    }
    return out;
  }

  async #rebuild(key: string): Promise<void> {
    // Yield to I/O first: rebuilds chain through promises, and a batch of a thousand would otherwise run to
    // the end before the first finished snapshot's responses leave (nor would ACKs or keepalives be read).
    await new Promise<void>((resolve) => setImmediate(resolve));
    const c = this.#connected.get(key);
    if (!c) return;
    const t0 = preciseNow();
    const kind = c.node.kind;
    const traced = this.#d.tracing?.enabled ? this.#d.tracing.rebuildStarting(key) : undefined;
    try {
      const resources = await this.#generate(c, this.#d.catalog);
      const snapshot = new Snapshot(resources, { generatedAt: t0 });
      // Before setSnapshot: its watchers push at once, and the tracing must know the snapshot first.
      if (traced) this.#d.tracing?.rebuildDone(key, traced, { identity: identityKey(c.node), kind, startedAt: t0, generatedAt: t0, resources: resources.length, streams: this.#connected.get(key)?.streams ?? 0 });
      const result = this.#d.cache.setSnapshot(key, snapshot);
      if (!result.ok) throw new Error(`inconsistent snapshot: ${result.problems.join('; ')}`);
      this.#builds.inc({ kind });
    } catch (err) {
      if (traced) this.#d.tracing?.rebuildFailed(key, traced, { identity: identityKey(c.node), kind, startedAt: t0, error: err instanceof Error ? err.message : String(err) });
      this.#buildErrors.inc({ kind });
      this.#d.logger.error('snapshot build failed; proxies keep their last good config', { key, err: errorFields(err) });
    } finally {
      this.#buildSeconds.observe((preciseNow() - t0) / 1000, { kind });
    }
  }
}
