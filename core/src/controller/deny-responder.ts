/**
 * The deny responder (`xds.denyResponder`): the one endpoint of the `trellis-denied` cluster a proxyless
 * client gets for a name policy does not let it reach. Every call, whatever its service and method, is
 * answered trailers-only with `grpc-status: 7` (PERMISSION_DENIED) and `grpc-message` = the reason, so it
 * fails at once instead of waiting out its deadline.
 *
 * Plain `node:http2`, not a grpc-js Server: grpc-js has no catch-all handler (unknown paths get UNIMPLEMENTED)
 * and the answer needs none of its machinery, only the HTTP/2 framing gRPC defines. One port takes both TLS
 * (the first byte is a TLS handshake record) and cleartext HTTP/2: over mTLS the caller's identity is its
 * verified workload certificate; a cleartext caller (a channel without xDS credentials) is told that its
 * identity is unknown. A header never names the caller.
 *
 * Cheap by construction, so no client can degrade the controller through it: a connection cap, a stream cap
 * per connection, idle connections closed, headers bounded, request bodies never read, and the reason (a
 * `policy explain` evaluation) computed at most `rate` times a second; past it the call is still denied,
 * with a fixed message.
 */
import { createServer, type Server, type Socket } from 'node:net';
import http2 from 'node:http2';
import type { TLSSocket } from 'node:tls';
import type { Identity, Logger, Metrics } from '@trellis/plugin-sdk';
import { ErrorCodes, SecretValue, TrellisError } from '@trellis/plugin-sdk';
import { parseHostPort } from '../config/addresses.ts';
import { TokenBucket } from '../xds/index.ts';

export interface DenyResponderTls {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string | SecretValue;
}

/** The caller as the responder established it: a verified mesh identity, or why there is none. */
export type DenyCaller = { readonly identity: Identity; readonly trustDomain: string } | { readonly identity?: undefined; readonly why: string };

export interface DenyResponderOptions {
  /** `host:port` to listen on (port 0: a free one). */
  readonly address: string;
  readonly tls: DenyResponderTls;
  /** The `grpc-message` for a denied call (policy explain's verdict). Must not throw; a throw gives a fixed message. */
  readonly reason: (caller: DenyCaller, authority: string, path: string) => string;
  /** Reasons computed per second (token bucket) and at once. */
  readonly rate?: number;
  readonly burst?: number;
  /** Open connections at most; more are closed at once. */
  readonly maxConnections?: number;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
}

/** What `grpc-message` keeps of a reason (characters, before percent-encoding). */
export const MAX_REASON = 1024;
const MAX_STREAMS_PER_CONNECTION = 16;
const IDLE_MS = 30_000;
const RATE_LIMITED = 'denied by mesh policy (the reason is withheld: the controller is answering denied calls at its rate limit); run `trellis policy explain`';
const SPIFFE = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/;

/** `grpc-message` is percent-encoded UTF-8: everything outside printable ASCII, and `%` itself (gRPC's HTTP/2 protocol). */
export function encodeGrpcMessage(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

/** The caller of a connection: its verified certificate's SPIFFE ID, or why there is none. */
export function callerOf(socket: Socket | TLSSocket): DenyCaller {
  if (!('encrypted' in socket) || !socket.encrypted) return { why: 'the call came in cleartext (the channel does not use xDS credentials), so the caller presented no certificate' };
  const tls = socket;
  if (!tls.authorized) return { why: `the caller's certificate was not verified by the mesh CA (${String(tls.authorizationError ?? 'no certificate')})` };
  const sans = (tls.getPeerCertificate().subjectaltname ?? '').split(/,\s*/);
  for (const san of sans) {
    const m = san.startsWith('URI:') ? SPIFFE.exec(san.slice(4)) : null;
    if (m) return { identity: { namespace: decodeURIComponent(m[2] as string), serviceAccount: decodeURIComponent(m[3] as string) }, trustDomain: m[1] as string };
  }
  return { why: "the caller's certificate carries no SPIFFE ID" };
}

export class DenyResponder {
  readonly #opts: DenyResponderOptions;
  readonly #bucket: TokenBucket;
  readonly #sockets = new Set<Socket>();
  readonly #log: Logger | undefined;
  readonly #calls: ReturnType<Metrics['counter']> | undefined;
  #net: Server | undefined;
  #secure: http2.Http2SecureServer | undefined;
  #plain: http2.Http2Server | undefined;

  constructor(opts: DenyResponderOptions) {
    this.#opts = opts;
    const rate = opts.rate ?? 100;
    this.#bucket = new TokenBucket(rate, opts.burst ?? Math.max(1, rate * 2));
    this.#log = opts.logger?.child({ component: 'deny-responder' });
    this.#calls = opts.metrics?.counter({
      name: 'trellis_deny_responder_calls_total',
      help: 'Proxyless calls the deny responder answered with PERMISSION_DENIED, by how the reason was found',
      labelNames: ['result'],
    });
  }

  /** Listens; returns the bound `{ host, port }`. */
  async start(): Promise<{ host: string; port: number }> {
    const settings: http2.Settings = { maxConcurrentStreams: MAX_STREAMS_PER_CONNECTION, maxHeaderListSize: 16 * 1024 };
    const common = { settings, maxSessionMemory: 1, maxHeaderListPairs: 64 };
    this.#secure = http2.createSecureServer({ ...common, ...this.#tlsOptions(this.#opts.tls), requestCert: true, rejectUnauthorized: false, ALPNProtocols: ['h2'] });
    this.#plain = http2.createServer(common);
    for (const s of [this.#secure, this.#plain]) {
      s.on('stream', (stream, headers) => this.#answer(stream, headers));
      s.on('sessionError', () => {});
      s.on('tlsClientError', () => {});
      s.on('session', (session) => session.on('error', () => {}));
    }
    const max = this.#opts.maxConnections ?? 1024;
    this.#net = createServer({ pauseOnConnect: false }, (socket) => {
      socket.on('error', () => socket.destroy());
      if (this.#sockets.size >= max) return void socket.destroy();
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
      socket.setTimeout(IDLE_MS, () => socket.destroy());
      // The first byte tells TLS (a handshake record, 0x16) from cleartext HTTP/2 (the "PRI * HTTP/2.0" preface).
      socket.once('data', (chunk: Buffer) => {
        socket.pause();
        socket.unshift(chunk);
        (chunk[0] === 0x16 ? this.#secure : this.#plain)?.emit('connection', socket);
      });
    });
    const { host, port } = splitAddress(this.#opts.address);
    const net = this.#net;
    await new Promise<void>((resolve, reject) => {
      net.once('error', (err) =>
        reject(new TrellisError(ErrorCodes.CONFIG_INVALID, `the deny responder cannot listen on ${this.#opts.address} (xds.denyResponder.address): ${err.message}`, { cause: err })),
      );
      net.listen(port, host, () => {
        net.removeAllListeners('error');
        net.on('error', (err) => this.#log?.warn('deny responder socket error', { error: err.message }));
        resolve();
      });
    });
    const bound = net.address();
    if (!bound || typeof bound === 'string') throw new Error('deny responder: no bound address');
    this.#log?.info('deny responder listening', { address: `${bound.address}:${bound.port}` });
    return { host: bound.address, port: bound.port };
  }

  /** A rotated serving certificate or a new trust bundle: new connections use it. */
  updateTls(tls: DenyResponderTls): void {
    this.#secure?.setSecureContext(this.#tlsOptions(tls));
  }

  async stop(): Promise<void> {
    const net = this.#net;
    this.#net = undefined;
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    if (net) await new Promise<void>((resolve) => net.close(() => resolve()));
  }

  #tlsOptions(tls: DenyResponderTls): { cert: string; key: string; ca: string } {
    return { cert: tls.certPem, key: tls.keyPem instanceof SecretValue ? tls.keyPem.reveal() : tls.keyPem, ca: tls.caPem };
  }

  #answer(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    stream.on('error', () => {});
    let message = RATE_LIMITED;
    let result = 'rate_limited';
    try {
      if (this.#bucket.tryTake()) {
        const caller = callerOf(stream.session?.socket as Socket | TLSSocket);
        const authority = String(headers[':authority'] ?? '').slice(0, 300);
        const path = String(headers[':path'] ?? '').slice(0, 300);
        result = caller.identity ? 'explained' : 'no_identity';
        message = this.#reason(caller, authority, path);
      }
    } catch (err) {
      result = 'error';
      message = 'denied by mesh policy (the controller could not work out the reason); run `trellis policy explain`';
      this.#log?.warn('deny responder: reason failed', { error: (err as Error).message });
    }
    this.#calls?.inc({ result });
    if (message.length > MAX_REASON) message = `${message.slice(0, MAX_REASON - 3)}...`;
    try {
      // Trailers-only: the status is in the only HEADERS frame; the request body is never read.
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '7', 'grpc-message': encodeGrpcMessage(message) }, { endStream: true });
    } catch {
      stream.destroy();
    }
  }

  #reason(caller: DenyCaller, authority: string, path: string): string {
    try {
      return this.#opts.reason(caller, authority, path);
    } catch (err) {
      this.#log?.warn('deny responder: reason failed', { error: (err as Error).message });
      return 'denied by mesh policy (the controller could not work out the reason); run `trellis policy explain`';
    }
  }
}

function splitAddress(text: string): { host: string; port: number } {
  const hp = parseHostPort(text);
  if (!hp) throw new Error(`deny responder: "${text}" is not host:port`);
  return hp;
}
