import * as grpc from '@grpc/grpc-js';
import { adsServiceDefinition } from '@trellis/core';
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse__Output, DiscoveryRequest, DiscoveryResponse__Output } from '@trellis/core';

/**
 * A raw ADS client for tests (SotW or delta) built from the same protos as the server. It does not ACK on its
 * own: tests send every request explicitly, so the protocol exchange is visible in the test.
 */

export interface AdsClientOptions {
  address: string;
  /** mTLS credentials; plaintext when absent. */
  tls?: { caPem: string; certPem?: string; keyPem?: string };
}

type Def = (typeof adsServiceDefinition)[keyof typeof adsServiceDefinition];

class Queue<T> {
  readonly #items: T[] = [];
  readonly #waiters: ((v: T) => void)[] = [];
  push(v: T): void {
    const w = this.#waiters.shift();
    if (w) w(v);
    else this.#items.push(v);
  }
  take(timeoutMs: number, what: string): Promise<T> {
    const v = this.#items.shift();
    if (v !== undefined) return Promise.resolve(v);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.#waiters.indexOf(done);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(new Error(`no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (x: T) => {
        clearTimeout(timer);
        resolve(x);
      };
      this.#waiters.push(done);
    });
  }
  get size(): number {
    return this.#items.length;
  }
}

class AdsStreamClient<Req, Res> {
  readonly #responses = new Queue<Res>();
  readonly #call: grpc.ClientDuplexStream<Req, Res>;
  /** Resolves with the final status of the stream (OK, or the error status). */
  readonly status: Promise<grpc.StatusObject>;

  constructor(client: grpc.Client, def: Def) {
    this.#call = client.makeBidiStreamRequest(
      def.path,
      def.requestSerialize as (r: Req) => Buffer,
      def.responseDeserialize as (b: Buffer) => Res,
    );
    this.#call.on('data', (r: Res) => this.#responses.push(r));
    this.status = new Promise((resolve) => {
      this.#call.on('status', resolve);
      this.#call.on('error', (err: grpc.ServiceError) => resolve({ code: err.code, details: err.details, metadata: err.metadata }));
    });
  }

  send(req: Req): void {
    this.#call.write(req);
  }

  next(timeoutMs = 3000): Promise<Res> {
    return this.#responses.take(timeoutMs, 'xDS response');
  }

  /** Responses received and not yet taken. */
  get buffered(): number {
    return this.#responses.size;
  }

  end(): void {
    this.#call.end();
  }

  cancel(): void {
    this.#call.cancel();
  }
}

export type SotwClient = AdsStreamClient<DiscoveryRequest, DiscoveryResponse__Output>;
export type DeltaClient = AdsStreamClient<DeltaDiscoveryRequest, DeltaDiscoveryResponse__Output>;

export class AdsConnection {
  readonly #client: grpc.Client;

  constructor(opts: AdsClientOptions) {
    const creds = opts.tls
      ? grpc.credentials.createSsl(
          Buffer.from(opts.tls.caPem),
          opts.tls.keyPem ? Buffer.from(opts.tls.keyPem) : null,
          opts.tls.certPem ? Buffer.from(opts.tls.certPem) : null,
        )
      : grpc.credentials.createInsecure();
    this.#client = new grpc.Client(opts.address, creds, { 'grpc.ssl_target_name_override': 'localhost', 'grpc.default_authority': 'localhost' });
  }

  sotw(): SotwClient {
    return new AdsStreamClient(this.#client, adsServiceDefinition.StreamAggregatedResources);
  }

  delta(): DeltaClient {
    return new AdsStreamClient(this.#client, adsServiceDefinition.DeltaAggregatedResources);
  }

  close(): void {
    this.#client.close();
  }
}
