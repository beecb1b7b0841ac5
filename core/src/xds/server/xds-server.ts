import * as grpc from '@grpc/grpc-js';
import { ErrorCodes, TrellisError } from '@trellis/plugin-sdk';
import type { SecretValue } from '@trellis/plugin-sdk';
import type { Logger, Metrics, NodeIdentity } from '@trellis/plugin-sdk';
import type { SnapshotCache } from '../cache/snapshot-cache.ts';
import { adsServiceDefinition, type DeltaCall, type SotwCall } from './codec.ts';
import { DeltaStream } from './delta.ts';
import type { XdsHooks } from './hooks.ts';
import { KeyedConcurrencyLimiter, TokenBucket } from './limits.ts';
import { listenPaced, type PacedListener } from './listener.ts';
import { RateLimitedLog } from './log-limit.ts';
import { ProxyRegistry } from './registry.ts';
import { SotwStream } from './sotw.ts';
import { ServingCertificateProvider, type ServingTls } from './tls-provider.ts';
import type { StandIns } from './stand-ins.ts';
import { DEFAULT_STREAM_LIMITS, type AdsStream, type StreamEnv, type StreamSource, type Transport } from './stream-base.ts';
import { XdsMetrics } from './xds-metrics.ts';

export const DEFAULT_ADS_ADDRESS = '0.0.0.0:15128';
export const SUGGESTED_PLAINTEXT_ADDRESS = '127.0.0.1:15129';

export interface XdsServerLimits {
  /** Open streams at most (both listeners); more are refused with RESOURCE_EXHAUSTED. Default 10000. */
  maxStreams?: number;
  /**
   * New TLS connections handed to the handshake per second (more wait, accepted, in the listener's queue) and
   * new streams per second (token buckets; more streams are refused with RESOURCE_EXHAUSTED). Default 1000.
   */
  connectionsPerSecond?: number;
  /** Token bucket size. Default 2 x connectionsPerSecond. */
  connectionBurst?: number;
  /** Streams being pushed to at once. Default 64. */
  pushConcurrency?: number;
  /**
   * Bytes one stream may have written and not yet taken by its transport (a slow or non-reading proxy); past
   * it, that stream's pushes wait and coalesce to the latest state. Default 1 MiB.
   */
  maxBufferedBytesPerStream?: number;
  /** Resource names one stream may subscribe to, all types together; past it the stream ends with RESOURCE_EXHAUSTED. Default 100000. */
  maxSubscriptionsPerStream?: number;
  /** Client-triggered warnings (NACKs, refused/rejected streams, bad requests) logged per second per kind. Default 10. */
  logLinesPerSecond?: number;
  /**
   * Kernel accept-queue length of each listener (capped by `net.core.somaxconn`). Default 4096; grpc-js alone
   * would listen with Node's 511, which a connect storm overflows.
   */
  listenBacklog?: number;
}

export const DEFAULT_LISTEN_BACKLOG = 4096;

export interface XdsServerOptions {
  cache: SnapshotCache;
  /** mTLS ADS listener, default `0.0.0.0:15128` (port 0 picks a free port). Needs `tls`. */
  address?: string;
  /** Server certificate and the CA that client certificates must chain to. */
  tls?: { caPem: string; certPem: string; keyPem: string | SecretValue };
  /**
   * Optional plaintext listener (suggested `127.0.0.1:15129`): development / same-host mode for proxyless gRPC,
   * since @grpc/grpc-js-xds cannot use TLS to a control plane. Identity comes from `node.id` unverified, so it
   * never serves Secret resources.
   */
  plaintextAddress?: string;
  limits?: XdsServerLimits;
  logger?: Logger;
  metrics?: Metrics;
  hooks?: XdsHooks;
  /**
   * Called when a proxy's stream is established; the server answers once `cache` has its snapshot. Throwing
   * (rejecting) refuses the node: its stream ends with the status of a `NodeRejectedError` (else UNAVAILABLE)
   * and the error's message.
   */
  onNodeConnected?: (node: NodeIdentity, source: StreamSource) => Promise<void> | void;
  onNodeDisconnected?: (node: NodeIdentity) => Promise<void> | void;
  /** Stand-ins for explicitly subscribed names a node's snapshot lacks (`ProxyPlugin.standIn`; stand-ins.ts). */
  standIns?: StandIns;
  /**
   * Admission gate (the controller's sync barrier): returns why proxies cannot be served yet, or undefined.
   * Until then new streams are refused with UNAVAILABLE (retryable) and that reason.
   */
  notServingReason?: () => string | undefined;
  /**
   * Trust domains whose node ids this mesh serves (the current one and any it changed from). A node id, and
   * so a certificate, naming another domain is refused even when its certificate chains to the mesh CA.
   */
  trustDomains?: () => readonly string[];
}

export interface BoundPorts {
  /** The mTLS port, when `tls` was given. */
  port?: number;
  plaintextPort?: number;
}

const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silentLogger };

/**
 * The Aggregated Discovery Service (state of the world and delta) over @grpc/grpc-js: an mTLS listener whose
 * client certificates prove proxy identity, and an optional plaintext one for same-host proxyless gRPC.
 */
export class XdsServer {
  readonly registry = new ProxyRegistry();
  readonly #opts: XdsServerOptions;
  readonly #servers: grpc.Server[] = [];
  readonly #listeners: PacedListener[] = [];
  readonly #streams = new Set<AdsStream>();
  readonly #bucket: TokenBucket;
  /** The same rate for TLS connections, applied before their handshake (listener.ts): they wait, not fail. */
  readonly #admit: TokenBucket;
  readonly #maxStreams: number;
  readonly #env: StreamEnv;
  #stopping = false;
  #tls: ServingCertificateProvider | undefined;

  constructor(options: XdsServerOptions) {
    if (!options.tls && !options.plaintextAddress)
      throw new TrellisError(ErrorCodes.CONFIG_INVALID, 'xDS server: give `tls` for the mTLS listener and/or a `plaintextAddress`');
    this.#opts = options;
    const limits = options.limits ?? {};
    const rate = limits.connectionsPerSecond ?? 1000;
    const burst = limits.connectionBurst ?? Math.max(1, rate * 2);
    this.#bucket = new TokenBucket(rate, burst);
    this.#admit = new TokenBucket(rate, burst);
    this.#maxStreams = limits.maxStreams ?? 10_000;
    const logger = (options.logger ?? silentLogger).child({ component: 'xds' });
    const streams = this.#streams;
    this.#env = {
      cache: options.cache,
      registry: this.registry,
      limiter: new KeyedConcurrencyLimiter(limits.pushConcurrency ?? 64),
      limits: {
        ...DEFAULT_STREAM_LIMITS,
        ...(limits.maxBufferedBytesPerStream === undefined ? {} : { maxBufferedBytes: limits.maxBufferedBytesPerStream }),
        ...(limits.maxSubscriptionsPerStream === undefined ? {} : { maxSubscriptions: limits.maxSubscriptionsPerStream }),
      },
      metrics: new XdsMetrics(options.metrics),
      hooks: options.hooks ?? {},
      logger,
      logLimit: new RateLimitedLog(limits.logLinesPerSecond ?? 10),
      ...(options.trustDomains ? { trustDomains: options.trustDomains } : {}),
      ...(options.onNodeConnected ? { onNodeConnected: options.onNodeConnected } : {}),
      ...(options.onNodeDisconnected ? { onNodeDisconnected: options.onNodeDisconnected } : {}),
      ...(options.standIns ? { standIns: options.standIns } : {}),
      closed: (s) => this.#streams.delete(s),
    };
    this.#env.metrics.observeStreams(function* (this: void) {
      for (const s of streams) if (s.node) yield { kind: s.node.kind, version: s.proxyVersion, lastAckAt: s.lastAckAt };
    });
  }

  /**
   * Replaces the serving certificate and the CA client certificates must chain to (rotation, root rotation);
   * new connections use them at once, established streams keep theirs.
   */
  updateTls(tls: ServingTls): void {
    if (!this.#tls) throw new Error('the xDS server has no mTLS listener');
    this.#tls.update(tls);
  }

  get streamCount(): number {
    return this.#streams.size;
  }

  async start(): Promise<BoundPorts> {
    const ports: BoundPorts = {};
    const { tls } = this.#opts;
    if (tls) {
      this.#tls = new ServingCertificateProvider(tls);
      const creds = grpc.experimental.createCertificateProviderServerCredentials(this.#tls, this.#tls, true);
      ports.port = await this.#listen(this.#opts.address ?? DEFAULT_ADS_ADDRESS, creds, 'mtls');
    }
    if (this.#opts.plaintextAddress) {
      ports.plaintextPort = await this.#listen(this.#opts.plaintextAddress, grpc.ServerCredentials.createInsecure(), 'plaintext');
      this.#env.logger.warn('plaintext xDS listener enabled (development / same-host mode; no secrets served)', {
        address: this.#opts.plaintextAddress,
      });
    }
    return ports;
  }

  async #listen(address: string, creds: grpc.ServerCredentials, transport: Transport): Promise<number> {
    // channelz off: nothing reads it, and its per-connection and per-call bookkeeping was ~3 % of the
    // controller's CPU in a 2000-proxy connect storm.
    const server = new grpc.Server({ 'grpc.keepalive_time_ms': 60_000, 'grpc.keepalive_timeout_ms': 20_000, 'grpc.enable_channelz': 0 });
    server.addService(adsServiceDefinition, {
      StreamAggregatedResources: (call: SotwCall) => this.#open(() => new SotwStream(this.#env, call, transport), call),
      DeltaAggregatedResources: (call: DeltaCall) => this.#open(() => new DeltaStream(this.#env, call, transport), call),
    });
    let listener: PacedListener;
    try {
      listener = await listenPaced(server, address, creds, {
        backlog: this.#opts.limits?.listenBacklog ?? DEFAULT_LISTEN_BACKLOG,
        tls: transport === 'mtls',
        admit: this.#admit,
      });
    } catch (err) {
      throw new TrellisError(ErrorCodes.CONFIG_INVALID, `xDS server cannot listen on ${address}: ${(err as Error).message}`, { cause: err });
    }
    this.#listeners.push(listener);
    this.#servers.push(server);
    return listener.port;
  }

  #open(make: () => AdsStream, call: SotwCall | DeltaCall): void {
    const refuse = (reason: string, details: string) => {
      this.#env.metrics.rejected.inc({ reason });
      this.#env.logLimit.warn('stream refused', this.#env.logger, 'ADS stream refused', { reason, details, peer: call.getPeer() });
      call.emit('error', { code: grpc.status.RESOURCE_EXHAUSTED, details, metadata: new grpc.Metadata() });
    };
    if (this.#stopping) return void call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'xDS server is shutting down' });
    const notServing = this.#opts.notServingReason?.();
    if (notServing !== undefined) {
      this.#env.metrics.rejected.inc({ reason: 'not_synced' });
      return void call.emit('error', { code: grpc.status.UNAVAILABLE, details: `control plane not ready to serve proxies: ${notServing}; retry with backoff`, metadata: new grpc.Metadata() });
    }
    if (this.#streams.size >= this.#maxStreams) return refuse('max_streams', `xDS server is at its limit of ${this.#maxStreams} streams; retry later or use another replica`);
    if (!this.#bucket.tryTake()) return refuse('rate_limited', 'xDS server is accepting new streams at its rate limit; retry with backoff');
    this.#streams.add(make());
  }

  /** Ends every stream and stops listening; connections still open after `graceMs` are cut. */
  async stop(graceMs = 5000): Promise<void> {
    this.#stopping = true;
    for (const l of this.#listeners.splice(0)) l.close();
    for (const s of [...this.#streams]) s.end();
    await Promise.all(
      this.#servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              server.forceShutdown();
              resolve();
            }, graceMs);
            server.tryShutdown(() => {
              clearTimeout(timer);
              resolve();
            });
          }),
      ),
    );
    this.#servers.length = 0;
  }
}
