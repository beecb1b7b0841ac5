import { randomUUID } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { TypeUrls, formatNodeId, identityKey } from '@trellis/plugin-sdk';
import type { Logger, NodeIdentity, XdsResource } from '@trellis/plugin-sdk';
import type { Snapshot } from '../cache/snapshot.ts';
import { preciseNow } from '../cache/snapshot.ts';
import type { SnapshotCache } from '../cache/snapshot-cache.ts';
import type { Node__Output } from '@trellis/plugin-sdk/xds/generated/envoy/config/core/v3/Node.ts';
import type { Status__Output } from '@trellis/plugin-sdk/xds/generated/google/rpc/Status.ts';
import type { XdsHooks } from './hooks.ts';
import type { StandIns } from './stand-ins.ts';
import { identityFromCertificate, resolveNodeIdentity } from './identity.ts';
import { NodeRejectedError } from './rejection.ts';
import type { KeyedConcurrencyLimiter } from './limits.ts';
import type { RateLimitedLog } from './log-limit.ts';
import type { ProxyInfo, ProxyRegistry, RegisteredStream, TypeStatus } from './registry.ts';
import { nackReason, typeLabel, type XdsMetrics } from './xds-metrics.ts';

/** Per-stream bounds (config `xds.*`; see docs/security.md). */
export interface StreamLimits {
  /**
   * Bytes written to a stream and not yet taken by its transport. Past it, pushes to that stream wait (without
   * holding a push slot) and send the latest state once it has taken half of them.
   */
  maxBufferedBytes: number;
  /** Resource names one stream may subscribe to (all types together, delta's initial versions included). */
  maxSubscriptions: number;
  /** Distinct type URLs one stream may use. */
  maxTypes: number;
}

export const DEFAULT_STREAM_LIMITS: StreamLimits = { maxBufferedBytes: 1024 * 1024, maxSubscriptions: 100_000, maxTypes: 16 };

/**
 * A push that leaves more than this many bytes untaken keeps its push slot until the transport has taken them
 * down to this (or `LARGE_PUSH_HOLD_MS` passed). Without it a mesh-wide change of large responses (permissive
 * mode: megabytes per proxy) writes every stream's response at once and the controller holds proxies x bytes
 * in HTTP/2 buffers; with it at most about `pushConcurrency` large responses are in flight. Small pushes (the
 * common case) never wait, and a peer that stops reading holds a slot for at most the hold time after its
 * last take.
 */
export const LARGE_PUSH_BYTES = 256 * 1024;
export const LARGE_PUSH_HOLD_MS = 3000;

/** What a NACK's error detail keeps of the client's message (logs, /debug/proxies). */
export const MAX_NACK_MESSAGE = 1024;

/** Everything a stream shares with its server. */
export interface StreamEnv {
  cache: SnapshotCache;
  registry: ProxyRegistry;
  limiter: KeyedConcurrencyLimiter;
  limits: StreamLimits;
  metrics: XdsMetrics;
  hooks: XdsHooks;
  logger: Logger;
  /** Client-triggered warnings (NACKs, rejections) are rate-limited through this. */
  logLimit: RateLimitedLog;
  /** Trust domains whose node ids are served; absent: any. */
  trustDomains?: () => readonly string[];
  onNodeConnected?: (node: NodeIdentity, source: StreamSource) => Promise<void> | void;
  /** Answers subscribed names a snapshot lacks (stand-ins.ts); absent: such names do not exist. */
  standIns?: StandIns;
  onNodeDisconnected?: (node: NodeIdentity) => Promise<void> | void;
  closed: (stream: AdsStream) => void;
}

export type Transport = 'mtls' | 'plaintext';

/** Where a stream comes from: its listener and the peer address (`ip:port`) as gRPC reports it. */
export interface StreamSource {
  transport: Transport;
  peer: string;
}

/** The order SotW pushes go out in: CDS before EDS, LDS before RDS (Envoy's warming rules). */
const ORDER: readonly string[] = [TypeUrls.cluster, TypeUrls.endpoint, TypeUrls.listener, TypeUrls.route, TypeUrls.secret];

export function pushOrder(typeUrls: Iterable<string>): string[] {
  const rank = (t: string) => {
    const i = ORDER.indexOf(t);
    return i < 0 ? ORDER.length : i;
  };
  return [...typeUrls].sort((a, b) => rank(a) - rank(b));
}

/** LDS and CDS treat an empty first subscription as "everything" (legacy wildcard). */
export function wildcardCapable(typeUrl: string): boolean {
  return typeUrl === TypeUrls.listener || typeUrl === TypeUrls.cluster;
}

interface StreamCall {
  getAuthContext(): { sslPeerCertificate?: PeerCertificate };
  getPeer(): string;
  /** `done` runs once the transport has taken the chunk (HTTP/2 flow control let it out). */
  write(chunk: unknown, done?: (err?: unknown) => void): boolean;
  end(): unknown;
  emit(event: 'error', err: Partial<grpc.StatusObject>): boolean;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}

/**
 * What SotW and delta streams share: identity on the first request, registry entry, snapshot watch, push
 * scheduling with bounded concurrency and no queue (a push always sends the latest snapshot), backpressure.
 */
export abstract class AdsStream implements RegisteredStream {
  readonly id = randomUUID();
  readonly connectedSince = new Date().toISOString();
  node: NodeIdentity | undefined;
  nodeId = '';
  key = '';
  /** The proxy's software, as the `version` label of `trellis_xds_connected_proxies`. */
  proxyVersion = 'unknown';
  /** Epoch ms of the last ACK (of any type), or of the stream's opening (`trellis_xds_last_ack_age_seconds`). */
  lastAckAt = Date.now();
  protected snapshot: Snapshot | undefined;
  protected log: Logger;
  #unwatch: (() => void) | undefined;
  #nonce = 0;
  #closed = false;
  /** Bytes written and not yet taken by the transport. */
  #buffered = 0;
  /** A push was held back because the buffer was full: send the latest state once it drains. */
  #dirty = false;
  /** Responses written by the push running now (`onPushDone`). */
  #writes = 0;
  /** Resolves the running push's hold once its bytes are taken (see `LARGE_PUSH_BYTES`). */
  #release: (() => void) | undefined;
  #holdTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #status = new Map<string, TypeStatus>();

  constructor(
    protected readonly env: StreamEnv,
    protected readonly call: StreamCall,
    readonly transport: Transport,
    readonly protocol: 'sotw' | 'delta',
  ) {
    this.log = env.logger.child({ stream: this.id });
    call.on('end', () => {
      this.close();
      call.end();
    });
    call.on('error', () => this.close());
    call.on('cancelled', () => this.close());
    call.on('close', () => this.close());
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /** Identity from the certificate (mTLS) or node.id (plaintext); false when the stream was rejected. */
  protected establish(nodeMsg: Node__Output | undefined): boolean {
    let proven: NodeIdentity | undefined;
    if (this.transport === 'mtls') {
      const cert = identityFromCertificate(this.call.getAuthContext().sslPeerCertificate);
      if (!cert.ok) return this.reject(grpc.status.UNAUTHENTICATED, cert.message, cert.reason);
      proven = cert.node;
    }
    const res = resolveNodeIdentity(nodeMsg?.id, proven);
    if (!res.ok) {
      const code = res.reason === 'invalid_node' ? grpc.status.INVALID_ARGUMENT : grpc.status.PERMISSION_DENIED;
      return this.reject(code, res.message, res.reason);
    }
    const node = res.node;
    const domains = this.env.trustDomains?.();
    if (domains && !domains.includes(node.trustDomain))
      return this.reject(
        grpc.status.PERMISSION_DENIED,
        `node "${nodeMsg?.id ?? ''}" names trust domain "${node.trustDomain}", which this mesh does not serve (${domains.join(', ')})`,
        'foreign_trust_domain',
      );
    this.node = node;
    this.nodeId = formatNodeId(node);
    this.key = this.env.cache.keyOf(node);
    this.proxyVersion = this.env.metrics.versions.label(nodeMsg);
    this.log = this.env.logger.child({ proxy: this.nodeId, stream: this.id });
    this.env.registry.add(this.id, this);
    this.env.metrics.connections.inc({ transport: this.transport });
    this.#unwatch = this.env.cache.watch(this.key, (s) => {
      this.snapshot = s;
      this.requestPush();
    });
    this.snapshot = this.env.cache.getSnapshot(this.key);
    this.env.hooks.onStreamOpen?.(node);
    this.log.debug('ADS stream open', { transport: this.transport, protocol: this.protocol, key: this.key });
    if (this.env.onNodeConnected) {
      const source: StreamSource = { transport: this.transport, peer: this.call.getPeer() };
      Promise.resolve()
        .then(() => this.env.onNodeConnected?.(node, source))
        .catch((err: unknown) => this.#refused(err));
    }
    return true;
  }

  /** The controller refused the node: end the stream with the refusal's status and reason, never leave it hanging. */
  #refused(err: unknown): void {
    if (this.#closed) return;
    if (err instanceof NodeRejectedError) return void this.reject(grpc.status[err.status], err.message, err.reason);
    const message = err instanceof Error ? err.message : String(err);
    this.reject(grpc.status.UNAVAILABLE, `the controller could not accept this node: ${message}`, 'accept_failed');
  }

  /** Ends the stream with a status; counts it under `trellis_xds_rejected_streams_total{reason}`. */
  reject(code: grpc.status, details: string, reason: string): false {
    this.env.metrics.rejected.inc({ reason });
    this.env.logLimit.warn('stream rejected', this.env.logger, 'ADS stream rejected', { reason, details, peer: this.call.getPeer() });
    this.call.emit('error', { code, details, metadata: new grpc.Metadata() });
    this.close();
    return false;
  }

  /**
   * Ends the stream with RESOURCE_EXHAUSTED when a request would take it past a per-stream bound: the server
   * keeps state per type and per subscribed name, so a client must not choose how much.
   */
  protected exceeds(what: 'types' | 'subscriptions', count: number): boolean {
    const { maxTypes, maxSubscriptions } = this.env.limits;
    if (what === 'types' ? count <= maxTypes : count <= maxSubscriptions) return false;
    const details =
      what === 'types'
        ? `the stream uses ${count} type URLs; at most ${maxTypes} per stream`
        : `the stream subscribes to ${count} resource names; at most ${maxSubscriptions} per stream (xds.maxSubscriptionsPerStream)`;
    this.reject(grpc.status.RESOURCE_EXHAUSTED, details, what === 'types' ? 'too_many_types' : 'too_many_subscriptions');
    return true;
  }

  /** Ends the stream normally (server shutdown). */
  end(): void {
    if (this.#closed) return;
    this.call.end();
    this.close();
  }

  protected close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#release?.();
    this.#unwatch?.();
    this.env.closed(this);
    if (!this.node) return;
    const node = this.node;
    this.env.registry.remove(this.id);
    this.env.metrics.connections.dec({ transport: this.transport });
    this.env.hooks.onStreamClose?.(node);
    this.log.debug('ADS stream closed');
    if (this.env.onNodeDisconnected) {
      Promise.resolve()
        .then(() => this.env.onNodeDisconnected?.(node))
        .catch((err: unknown) => this.log.error('onNodeDisconnected failed', { error: (err as Error).message }));
    }
  }

  protected nextNonce(): string {
    return (++this.#nonce).toString(36);
  }

  /**
   * Schedules a push of the latest snapshot; at most one is pending per stream. A stream whose buffer is full
   * is not scheduled at all: it is marked dirty and pushed when its transport has drained, so a slow or
   * non-reading peer never holds one of the shared push slots.
   */
  protected requestPush(): void {
    if (this.#closed || !this.node) return;
    if (!this.canWrite()) {
      this.#dirty = true;
      return;
    }
    this.env.limiter.schedule(this.id, () => this.#runPush());
  }

  /** Whether another response may be written now (the buffer is within `maxBufferedBytes`). */
  protected canWrite(): boolean {
    return this.#buffered <= this.env.limits.maxBufferedBytes;
  }

  /** Called by `push` when it stops early because the buffer filled: the rest goes out after the drain. */
  protected deferPush(): void {
    this.#dirty = true;
  }

  /** Bytes written to this stream that its transport has not taken yet. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  async #runPush(): Promise<void> {
    if (this.#closed || !this.snapshot || !this.node) return;
    const started = performance.now();
    const snapshot = this.snapshot;
    this.#writes = 0;
    try {
      this.push(snapshot);
    } catch (err) {
      this.log.error('push failed', { error: (err as Error).message });
    }
    this.env.metrics.pushDuration.observe((performance.now() - started) / 1000);
    this.env.hooks.onPushDone?.({ node: this.node, generatedAt: snapshot.generatedAt, responses: this.#writes });
    // Only a push that wrote: a peer that does not read must not hold the slot again on every later request.
    if (this.#writes > 0 && this.#buffered > LARGE_PUSH_BYTES && !this.#closed) await this.#drained();
  }

  /**
   * Until the transport has taken this stream's bytes down to `LARGE_PUSH_BYTES`, or the stream closes, or the
   * peer took nothing for `LARGE_PUSH_HOLD_MS` (a stall timer, restarted by every take: a slow but reading
   * peer keeps the slot, so the bound holds when the readers are slower than the controller; a peer that has
   * stopped reading gives it back).
   */
  #drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        if (this.#release === done) {
          this.#release = undefined;
          this.#holdTimer = undefined;
        }
        resolve();
      };
      const timer = setTimeout(done, LARGE_PUSH_HOLD_MS);
      timer.unref?.();
      this.#release = done;
      this.#holdTimer = timer;
    });
  }

  #taken(bytes: number): void {
    this.#buffered -= bytes;
    if (this.#release && (this.#closed || this.#buffered <= LARGE_PUSH_BYTES)) this.#release();
    else this.#holdTimer?.refresh();
    if (this.#closed || !this.#dirty || this.#buffered > this.env.limits.maxBufferedBytes / 2) return;
    this.#dirty = false;
    this.requestPush();
  }

  /**
   * Writes what changed for every subscribed type, in push order; stops (calling `deferPush`) before a type
   * when `canWrite()` is false.
   */
  protected abstract push(snapshot: Snapshot): void;

  /**
   * Resources this node may receive: secrets never over plaintext, and a resource with an `audience` (set by
   * the generator for key material; the factory refuses a private key without one) only to that identity.
   * The name plays no part. A resource without audience is public and only ever sent from the node's own snapshot.
   */
  protected allowed(typeUrl: string, r: XdsResource): boolean {
    if (typeUrl === TypeUrls.secret && (this.transport !== 'mtls' || this.node === undefined)) return false;
    if (r.audience === undefined) return true;
    return this.node !== undefined && this.transport === 'mtls' && identityKey(r.audience) === identityKey(this.node);
  }


  protected write(typeUrl: string, bytes: Uint8Array, version: string, nonce: string): void {
    const size = bytes.byteLength;
    this.#writes++;
    this.#buffered += size;
    this.call.write(bytes, () => this.#taken(size));
    const sentAt = preciseNow();
    const st = this.status(typeUrl);
    st.lastSent = { version, nonce, at: new Date(sentAt).toISOString() };
    this.env.metrics.pushes.inc({ type: typeLabel(typeUrl) });
    if (this.node) {
      const generatedAt = this.snapshot?.generatedAt;
      if (generatedAt !== undefined) this.env.metrics.pushLatency.observe(Math.max(0, sentAt - generatedAt) / 1000, { type: typeLabel(typeUrl) });
      this.env.hooks.onPush?.({ node: this.node, typeUrl, version, nonce, ...(generatedAt === undefined ? {} : { generatedAt }), sentAt });
    }
  }

  protected recordAck(typeUrl: string, version: string): void {
    const at = preciseNow();
    this.status(typeUrl).lastAcked = { version, at: new Date(at).toISOString() };
    this.lastAckAt = at;
    if (this.node) this.env.hooks.onAck?.({ node: this.node, typeUrl, version, at });
  }

  protected recordNack(typeUrl: string, version: string, nonce: string, detail: Status__Output): void {
    const at = preciseNow();
    const full = detail.message ?? `code ${detail.code ?? '?'}`;
    const message = full.length > MAX_NACK_MESSAGE ? `${full.slice(0, MAX_NACK_MESSAGE)}... (${full.length} characters)` : full;
    this.status(typeUrl).lastNack = { version, nonce, message, at: new Date(at).toISOString() };
    this.env.metrics.nacks.inc({ type: typeLabel(typeUrl), reason: nackReason(full) });
    this.env.logLimit.warn('nack', this.log, 'proxy rejected xDS response', { type: typeUrl, version, nonce, message });
    if (this.node) this.env.hooks.onNack?.({ node: this.node, typeUrl, version, message, at });
  }

  protected status(typeUrl: string): TypeStatus {
    let st = this.#status.get(typeUrl);
    if (!st) this.#status.set(typeUrl, (st = { subscribed: [] }));
    return st;
  }

  info(): ProxyInfo {
    const node = this.node!;
    return {
      streamId: this.id,
      nodeId: this.nodeId,
      node,
      kind: node.kind,
      identity: identityKey(node),
      protocol: this.protocol,
      transport: this.transport,
      peer: this.call.getPeer(),
      snapshotKey: this.key,
      connectedSince: this.connectedSince,
      types: Object.fromEntries(this.#status),
    };
  }

  abstract sentResources(): Map<string, readonly XdsResource[]>;
}
