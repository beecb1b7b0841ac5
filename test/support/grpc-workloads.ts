/**
 * Real proxyless gRPC workloads for end-to-end tests: each has its own bootstrap directory (written by the
 * grpc plugin's `bootstrap()`), certificate and node identity, and runs @grpc/grpc-js-xds clients and
 * xDS-enabled servers in this process (the test-only channel/server option selects the bootstrap).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type * as GrpcJsXds from '@grpc/grpc-js-xds';
import { workloadCertFiles } from '@trellis/plugin-sdk';
import type { BootstrapFile, BootstrapRequest, Identity, IssuedCertificate, NodeIdentity } from '@trellis/plugin-sdk';
import { grpcBootstrap } from '@trellis/plugin-proxy-grpc';

/** grpc-js-xds option that gives a channel or server its own bootstrap (one process, many nodes). */
export const BOOTSTRAP_OPTION = 'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config';

type XdsModule = typeof GrpcJsXds;
let xdsModule: Promise<XdsModule> | undefined;

/** Loads and registers @grpc/grpc-js-xds once, with the RBAC filter enabled (read when the module loads). */
export function loadGrpcXds(): Promise<XdsModule> {
  return (xdsModule ??= (async () => {
    process.env.GRPC_XDS_EXPERIMENTAL_RBAC = 'true';
    const m = await import('@grpc/grpc-js-xds');
    m.register();
    return m;
  })());
}

// ---- the echo service: JSON messages, two methods so path-restricted routes can be tested ----

export const ECHO_PATH = '/trellis.test.Echo/Echo';
export const METRICS_PATH = '/trellis.test.Echo/Metrics';

export interface EchoReply {
  /** The name the serving workload was started with. */
  readonly server: string;
  /** The caller's URI SAN (its SPIFFE ID) as the server saw it over mTLS, or null. */
  readonly peer: string | null;
}

const json = {
  serialize: (v: unknown): Buffer => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer): unknown => JSON.parse(b.toString() || 'null'),
};
const method = (path: string): grpc.MethodDefinition<unknown, unknown> => ({
  path,
  requestStream: false,
  responseStream: false,
  requestSerialize: json.serialize,
  requestDeserialize: json.deserialize,
  responseSerialize: json.serialize,
  responseDeserialize: json.deserialize,
});
const echoService: grpc.ServiceDefinition = { Echo: method(ECHO_PATH), Metrics: method(METRICS_PATH) };

function peerUri(call: grpc.ServerUnaryCall<unknown, unknown>): string | null {
  const san = call.getAuthContext().sslPeerCertificate?.subjectaltname ?? '';
  const uri = san.split(', ').find((e) => e.startsWith('URI:'));
  return uri ? uri.slice(4) : null;
}

// ---- workloads ----

export type CallResult = { ok: true; reply: EchoReply } | { ok: false; code: grpc.status; details: string };

export interface EchoServer {
  readonly address: string;
  close(): Promise<void>;
}

export class EchoClient {
  readonly #client: grpc.Client;
  constructor(client: grpc.Client) {
    this.#client = client;
  }

  call(path: string = ECHO_PATH, timeoutMs = 3000, headers: Readonly<Record<string, string>> = {}): Promise<CallResult> {
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(headers)) md.set(k, v);
    return new Promise((resolve) => {
      this.#client.makeUnaryRequest(path, json.serialize, json.deserialize as (b: Buffer) => EchoReply, {}, md, { deadline: Date.now() + timeoutMs }, (err, reply) => {
        if (err) resolve({ ok: false, code: err.code ?? grpc.status.UNKNOWN, details: err.details ?? err.message });
        else resolve({ ok: true, reply: reply as EchoReply });
      });
    });
  }

  /** Sequential calls, counting replies per server name and failures per status code name. */
  async tally(calls: number, path: string = ECHO_PATH, headers: Readonly<Record<string, string>> = {}): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (let i = 0; i < calls; i++) {
      const r = await this.call(path, 3000, headers);
      const k = r.ok ? r.reply.server : grpc.status[r.code];
      out[k] = (out[k] ?? 0) + 1;
    }
    return out;
  }

  close(): void {
    this.#client.close();
  }
}

export interface WorkloadOptions {
  readonly identity: Identity;
  readonly trustDomain?: string;
  /** `host:port` of the controller's plaintext ADS listener. */
  readonly controllerAddress: string;
  readonly certificate: IssuedCertificate;
  /** Writes the bootstrap files (the grpc plugin instance's `bootstrap`); default the package's `grpcBootstrap`. */
  readonly bootstrap?: (req: BootstrapRequest) => BootstrapFile[] | Promise<BootstrapFile[]>;
}

/** One workload identity: a bootstrap directory and node id, serving and calling through grpc-js-xds. */
export class GrpcWorkload {
  readonly #closers: (() => Promise<void> | void)[] = [];
  private constructor(
    readonly node: NodeIdentity,
    readonly dir: string,
    /** The bootstrap JSON as written to `dir/bootstrap.json`. */
    readonly bootstrap: string,
  ) {}

  static async create(opts: WorkloadOptions): Promise<GrpcWorkload> {
    const node: NodeIdentity = { uuid: randomUUID(), kind: 'grpc', ...opts.identity, trustDomain: opts.trustDomain ?? 'cluster.local' };
    const dir = await mkdtemp(join(tmpdir(), `trellis-grpc-${opts.identity.serviceAccount}-`));
    const write = opts.bootstrap ?? grpcBootstrap;
    for (const f of await write({ node, controllerAddress: opts.controllerAddress, outDir: dir, certificate: opts.certificate }))
      await writeFile(join(dir, f.path), f.content, { mode: f.mode });
    const w = new GrpcWorkload(node, dir, await readFile(join(dir, 'bootstrap.json'), 'utf8'));
    w.#closers.push(() => rm(dir, { recursive: true, force: true }));
    return w;
  }

  /** Replaces the certificate files, each atomically, in the SDK's order (as the agent does); grpc-js-xds re-reads them. */
  async rotate(c: IssuedCertificate): Promise<void> {
    for (const f of workloadCertFiles(c)) {
      const tmp = join(this.dir, `.${f.path}.tmp`);
      await writeFile(tmp, f.content, { mode: f.mode });
      await rename(tmp, join(this.dir, f.path));
    }
  }

  /**
   * An xDS-enabled echo server on `ip:port`; resolves once the controller sent a valid Listener for it.
   * `behave`, when given, is asked before each reply: it may wait, and returns a status to fail the call with.
   */
  async serve(ip: string, port: number, name: string, behave?: () => Promise<grpc.status | undefined>): Promise<EchoServer> {
    const xds = await loadGrpcXds();
    const server = new xds.XdsServer({ [BOOTSTRAP_OPTION]: this.bootstrap, drainGraceTimeMs: 50 });
    const reply = (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      if (!behave) return cb(null, { server: name, peer: peerUri(call) } satisfies EchoReply);
      behave().then(
        (code) => (code === undefined ? cb(null, { server: name, peer: peerUri(call) } satisfies EchoReply) : cb({ code, details: `${name} failed this attempt` })),
        (err: unknown) => cb({ code: grpc.status.INTERNAL, details: String(err) }),
      );
    };
    server.addService(echoService, { Echo: reply, Metrics: reply });
    const address = `${ip}:${port}`;
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(address, new xds.XdsServerCredentials(grpc.ServerCredentials.createInsecure()), (err) => (err ? reject(err) : resolve())),
    );
    const close = () => new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    this.#closers.push(() => (server.forceShutdown(), undefined));
    return { address, close };
  }

  /** A client dialing `xds:///<target>` with this workload's bootstrap and certificate. */
  async client(target: string): Promise<EchoClient> {
    const xds = await loadGrpcXds();
    const c = new grpc.Client(`xds:///${target}`, new xds.XdsChannelCredentials(grpc.credentials.createInsecure()), { [BOOTSTRAP_OPTION]: this.bootstrap });
    this.#closers.push(() => c.close());
    return new EchoClient(c);
  }

  async close(): Promise<void> {
    for (const c of this.#closers.splice(0).reverse()) await c();
  }
}

/** A plaintext (non-mesh) client dialing an address directly. */
export function plainClient(address: string): EchoClient {
  return new EchoClient(new grpc.Client(address, grpc.credentials.createInsecure()));
}

/** A free TCP port on the loopback interface (grpc-js-xds servers need a fixed, non-zero port). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Retries `check` until it stops throwing (config reaches workloads asynchronously), then returns its value. */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }
}
