/**
 * One simulated Envoy: its own HTTP/2 (TLS, client certificate) connection, one ADS stream (SotW or delta),
 * subscribing like Envoy does (CDS + LDS wildcard, then EDS for the clusters, RDS for the listeners' route
 * names, SDS for the secrets they name) and ACKing by version and nonce without decoding resources (only the
 * clusters and listeners are decoded, once per distinct body, to find those names).
 */
import { createHash } from 'node:crypto';
import http2 from 'node:http2';
import { performance } from 'node:perf_hooks';
import tls, { type SecureContext } from 'node:tls';
import { TypeUrls } from '@trellis/plugin-sdk';
import type { ReferenceCache } from './inspect.ts';
import {
  GrpcDeframer,
  decodeDeltaResponse,
  decodeSotwResponse,
  encodeDeltaRequest,
  encodeSotwRequest,
  firstStringField,
  grpcFrame,
  splitAny,
} from './wire-proto.ts';

const SERVICE = '/envoy.service.discovery.v3.AggregatedDiscoveryService';
const { cluster: CDS, listener: LDS, endpoint: EDS, route: RDS, secret: SDS } = TypeUrls;
const DEPENDENT = [EDS, RDS, SDS] as const;

/**
 * TCP connect timeout, Envoy's default cluster `connect_timeout` (5 s). Without one, a SYN the server's full
 * accept queue dropped waits for the kernel's SYN retransmissions (1, 3, 7, 15, 31, 63 s: `connect ETIMEDOUT`
 * after ~2 min), a tail no Envoy has; with it the proxy redials with its backoff. It covers TCP only: a
 * connection accepted and waiting for its TLS handshake is never cut.
 */
export const CONNECT_TIMEOUT_MS = 5000;

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes on one host. */
export const wallNow = (): number => performance.timeOrigin + performance.now();

export interface SimProxyOptions {
  /** `host:port` of the ADS listener. */
  address: string;
  nodeId: string;
  /** Trusted CA + client certificate and key, prepared ahead (as an Envoy has them loaded before it dials). */
  secureContext: SecureContext;
  delta: boolean;
  refs: ReferenceCache;
}

/** Something the proxy saw after `startRecording()`: a response of `typeUrl` it ACKed at `t`. */
export interface AckEvent {
  t: number;
  typeUrl: string;
  /** Whether the version (SotW) or any resource (delta) changed compared to what the proxy held. */
  changed: boolean;
  /** EDS only: names of ClusterLoadAssignments whose bytes changed. */
  changedNames?: string[];
}

interface TypeState {
  version: string;
  nonce: string;
  names: Set<string>;
  /** A subscription change was sent and not answered yet. */
  pending: boolean;
  acked: boolean;
  /** Content hash per resource name (EDS: to tell which CLAs changed; delta: versions). */
  held: Map<string, string>;
}

export class SimProxy {
  readonly #o: SimProxyOptions;
  #session?: http2.ClientHttp2Session;
  #stream?: http2.ClientHttp2Stream;
  readonly #types = new Map<string, TypeState>();
  #sentNode = false;
  #recording = false;
  events: AckEvent[] = [];
  bytesReceived = 0;
  responses = 0;
  errors: string[] = [];
  connectedAt = 0;
  readyAt = 0;
  #onReady?: () => void;
  closed = false;

  constructor(options: SimProxyOptions) {
    this.#o = options;
  }

  /** Opens the connection and the stream; resolves when every subscribed type has been answered and ACKed. */
  start(onReady: () => void): void {
    this.#onReady = onReady;
    this.#open();
  }

  #open(): void {
    const o = this.#o;
    const colon = o.address.lastIndexOf(':');
    const socket = tls.connect({
      host: o.address.slice(0, colon).replace(/^\[|\]$/g, ''),
      port: Number(o.address.slice(colon + 1)),
      secureContext: o.secureContext,
      servername: 'localhost',
      checkServerIdentity: () => undefined,
      ALPNProtocols: ['h2'],
    });
    const connectTimer = setTimeout(() => socket.destroy(new Error(`connect ETIMEDOUT (no TCP connection within ${CONNECT_TIMEOUT_MS} ms)`)), CONNECT_TIMEOUT_MS);
    socket.once('connect', () => clearTimeout(connectTimer));
    socket.once('close', () => clearTimeout(connectTimer));
    const session = http2.connect(`https://${o.address}`, { createConnection: () => socket, settings: { initialWindowSize: 4 << 20 } });
    this.#session = session;
    session.on('error', (err) => this.#fail(session, `session: ${err.message}`));
    session.on('close', () => this.#fail(session, 'session closed'));
    const stream = session.request(
      { ':method': 'POST', ':path': `${SERVICE}/${o.delta ? 'DeltaAggregatedResources' : 'StreamAggregatedResources'}`, 'content-type': 'application/grpc', te: 'trailers' },
      { endStream: false },
    );
    this.#stream = stream;
    const deframer = new GrpcDeframer();
    stream.on('data', (chunk: Buffer) => {
      this.bytesReceived += chunk.length;
      deframer.push(chunk, (msg) => this.#onMessage(msg));
    });
    const onStatus = (headers: http2.IncomingHttpHeaders) => {
      const status = headers['grpc-status'];
      if (status !== undefined && status !== '0') this.#fail(session, `grpc-status ${String(status)}: ${decodeURIComponent(String(headers['grpc-message'] ?? ''))}`);
    };
    stream.on('response', onStatus);
    stream.on('trailers', onStatus);
    stream.on('error', (err) => this.#fail(session, `stream: ${err.message}`));
    this.connectedAt = wallNow();
    this.#sentNode = false;
    this.#types.clear();
    this.#deltaBodies.clear();
    this.#cdsSds = new Set();
    this.#ldsSds = new Set();
    this.#subscribe(CDS, []);
    this.#subscribe(LDS, []);
  }

  #retries = 0;
  /** One failure of the current attempt (later events of an abandoned session are ignored). */
  #fail(session: http2.ClientHttp2Session, why: string): void {
    if (this.closed || session !== this.#session) return;
    this.errors.push(why);
    const s = this.#session;
    this.#session = undefined;
    this.#stream = undefined;
    s?.destroy();
    // Refused (rate limit, max streams) or dropped: reconnect with jittered backoff, as Envoy does.
    if (this.#retries++ < 20) setTimeout(() => !this.closed && this.#open(), 200 + Math.random() * 800 * Math.min(this.#retries, 5)).unref();
  }

  close(): void {
    this.closed = true;
    this.#stream?.close();
    this.#session?.destroy();
  }

  startRecording(): void {
    this.events = [];
    this.#recording = true;
  }

  stopRecording(): AckEvent[] {
    this.#recording = false;
    const e = this.events;
    this.events = [];
    return e;
  }

  get ready(): boolean {
    const cds = this.#types.get(CDS);
    const lds = this.#types.get(LDS);
    if (!cds?.acked || !lds?.acked) return false;
    for (const t of DEPENDENT) {
      const st = this.#types.get(t);
      if (st && st.names.size > 0 && (st.pending || !st.acked)) return false;
    }
    return true;
  }

  /** Resource names subscribed per dependent type (EDS names tell who consumes which service). */
  subscribed(typeUrl: string): ReadonlySet<string> {
    return this.#types.get(typeUrl)?.names ?? new Set();
  }

  #state(typeUrl: string): TypeState {
    let st = this.#types.get(typeUrl);
    if (!st) this.#types.set(typeUrl, (st = { version: '', nonce: '', names: new Set(), pending: false, acked: false, held: new Map() }));
    return st;
  }

  #write(msg: Uint8Array): void {
    this.#stream?.write(grpcFrame(msg));
  }

  #nodeOnce(): string | undefined {
    if (this.#sentNode) return undefined;
    this.#sentNode = true;
    return this.#o.nodeId;
  }

  /** (Re)subscribes `typeUrl` to exactly `names` (empty for the wildcard types = wildcard). */
  #subscribe(typeUrl: string, names: readonly string[]): void {
    const isNew = !this.#types.has(typeUrl);
    const wildcardType = typeUrl === CDS || typeUrl === LDS;
    if (isNew && !wildcardType && names.length === 0) return;
    const st = this.#state(typeUrl);
    const next = new Set(names);
    if (!isNew && next.size === st.names.size && [...next].every((n) => st.names.has(n))) return;
    const nodeId = this.#nodeOnce();
    if (this.#o.delta) {
      const subscribe = [...next].filter((n) => !st.names.has(n));
      const unsubscribe = [...st.names].filter((n) => !next.has(n));
      this.#write(encodeDeltaRequest({ ...(nodeId && { nodeId }), typeUrl, subscribe, unsubscribe, responseNonce: '' }));
      for (const n of unsubscribe) st.held.delete(n);
    } else {
      this.#write(encodeSotwRequest({ versionInfo: st.version, ...(nodeId && { nodeId }), resourceNames: [...next], typeUrl, responseNonce: st.nonce }));
    }
    st.names = next;
    st.pending = true;
  }

  #onMessage(msg: Buffer): void {
    this.responses++;
    if (this.#o.delta) this.#onDelta(msg);
    else this.#onSotw(msg);
    if (this.#retries > 0 && this.ready) this.#retries = 0;
    if (!this.readyAt && this.ready) {
      this.readyAt = wallNow();
      this.#onReady?.();
    }
  }

  /** After CDS/LDS: the EDS/RDS/SDS names their resources reference, merged with the other type's SDS names. */
  #follow(typeUrl: string, anys: readonly Uint8Array[]): void {
    const eds = new Set<string>();
    const rds = new Set<string>();
    const sds = new Set<string>();
    for (const a of anys) {
      const r = this.#o.refs.of(a);
      for (const n of r.eds) eds.add(n);
      for (const n of r.rds) rds.add(n);
      for (const n of r.sds) sds.add(n);
    }
    if (typeUrl === CDS) {
      this.#cdsSds = sds;
      this.#subscribe(EDS, [...eds]);
    } else {
      this.#ldsSds = sds;
      this.#subscribe(RDS, [...rds]);
    }
    const allSds = new Set([...this.#cdsSds, ...this.#ldsSds]);
    if (allSds.size > 0 || this.#types.has(SDS)) this.#subscribe(SDS, [...allSds]);
  }

  #cdsSds = new Set<string>();
  #ldsSds = new Set<string>();
  /** Delta: the full current set of clusters/listeners, to recompute references after partial updates. */
  readonly #deltaBodies = new Map<string, Map<string, Uint8Array>>();

  #onSotw(msg: Buffer): void {
    const res = decodeSotwResponse(msg);
    const st = this.#state(res.typeUrl);
    const changed = res.versionInfo !== st.version;
    let changedNames: string[] | undefined;
    if (res.typeUrl === EDS) {
      changedNames = [];
      const seen = new Set<string>();
      for (const a of res.resources) {
        const body = splitAny(a).value;
        const name = firstStringField(body);
        seen.add(name);
        const h = createHash('sha1').update(body).digest('base64');
        if (st.held.get(name) !== h) {
          st.held.set(name, h);
          changedNames.push(name);
        }
      }
      for (const n of [...st.held.keys()]) if (!seen.has(n)) st.held.delete(n);
    }
    if (res.typeUrl === CDS || res.typeUrl === LDS) this.#follow(res.typeUrl, res.resources);
    st.version = res.versionInfo;
    st.nonce = res.nonce;
    st.pending = false;
    st.acked = true;
    this.#write(encodeSotwRequest({ versionInfo: res.versionInfo, resourceNames: [...st.names], typeUrl: res.typeUrl, responseNonce: res.nonce }));
    if (this.#recording) this.events.push({ t: wallNow(), typeUrl: res.typeUrl, changed, ...(changedNames && { changedNames }) });
  }

  #onDelta(msg: Buffer): void {
    const res = decodeDeltaResponse(msg);
    const st = this.#state(res.typeUrl);
    const changedNames: string[] = [];
    let bodies = this.#deltaBodies.get(res.typeUrl);
    const keepBodies = res.typeUrl === CDS || res.typeUrl === LDS;
    if (keepBodies && !bodies) this.#deltaBodies.set(res.typeUrl, (bodies = new Map()));
    for (const r of res.resources) {
      if (st.held.get(r.name) !== r.version) changedNames.push(r.name);
      st.held.set(r.name, r.version);
      if (bodies) bodies.set(r.name, r.any);
    }
    for (const n of res.removed) {
      st.held.delete(n);
      bodies?.delete(n);
      changedNames.push(n);
    }
    if (bodies) this.#follow(res.typeUrl, [...bodies.values()]);
    st.version = res.systemVersionInfo;
    st.nonce = res.nonce;
    st.pending = false;
    st.acked = true;
    this.#write(encodeDeltaRequest({ typeUrl: res.typeUrl, subscribe: [], unsubscribe: [], responseNonce: res.nonce }));
    if (this.#recording)
      this.events.push({ t: wallNow(), typeUrl: res.typeUrl, changed: changedNames.length > 0, ...(res.typeUrl === EDS && { changedNames }) });
  }
}
