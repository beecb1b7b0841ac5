/**
 * Real proxyless gRPC workloads for end-to-end tests: each has its own bootstrap directory (written by the
 * grpc plugin's `bootstrap()`), certificate and node identity, and runs @grpc/grpc-js-xds clients and
 * xDS-enabled servers in this process (the test-only channel/server option selects the bootstrap).
 */
import 'reflect-metadata'; // @peculiar/x509 uses tsyringe, which needs the Reflect polyfill
import { randomUUID, webcrypto } from 'node:crypto';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type * as GrpcJsXds from '@grpc/grpc-js-xds';
import * as x509 from '@peculiar/x509';
import { SecretValue, spiffeId } from '@trellis/plugin-sdk';
import type { BootstrapFile, BootstrapRequest, Identity, IssuedCertificate, NodeIdentity } from '@trellis/plugin-sdk';
import { grpcBootstrap } from '@trellis/plugin-proxy-grpc';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

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

// ---- certificates: a small mesh CA issuing SPIFFE workload certificates (server + client auth) ----

const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

async function pkcs8Pem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').trimEnd()}\n-----END PRIVATE KEY-----\n`;
}

export interface MeshPki {
  readonly caPem: string;
  /** A workload certificate whose URI SAN is the identity's SPIFFE ID (or `uri` when given). */
  issue(id: Identity, opts?: { trustDomain?: string; uri?: string; validityMs?: number }): Promise<IssuedCertificate>;
}

export async function createMeshPki(name = 'Trellis gRPC Test CA'): Promise<MeshPki> {
  const caKeys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const notBefore = new Date(Date.now() - 60_000);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${name}`,
    keys: caKeys,
    notBefore,
    notAfter: new Date(Date.now() + 24 * 3600_000),
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  const caPem = ca.toString('pem');
  return {
    caPem,
    async issue(id, opts = {}) {
      const td = opts.trustDomain ?? 'cluster.local';
      const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
      const notAfter = new Date(Date.now() + (opts.validityMs ?? 3600_000));
      const cert = await x509.X509CertificateGenerator.create({
        subject: `CN=${id.serviceAccount}.${id.namespace}.${td}`,
        issuer: ca.subject,
        publicKey: keys.publicKey,
        signingKey: caKeys.privateKey,
        serialNumber: randomUUID().replace(/-/g, '').slice(0, 16),
        notBefore,
        notAfter,
        signingAlgorithm: alg,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
          new x509.SubjectAlternativeNameExtension([
            { type: 'url', value: opts.uri ?? spiffeId(id, td) },
            { type: 'dns', value: `${id.serviceAccount}.${id.namespace}.${td}` },
          ]),
        ],
      });
      const pem = cert.toString('pem');
      return {
        certificatePem: pem,
        chainPem: pem,
        privateKey: new SecretValue(await pkcs8Pem(keys.privateKey)),
        issuingCaPem: caPem,
        trustBundlePem: caPem,
        serialNumber: cert.serialNumber,
        notBefore,
        notAfter,
      };
    },
  };
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

  call(path: string = ECHO_PATH, timeoutMs = 3000): Promise<CallResult> {
    return new Promise((resolve) => {
      this.#client.makeUnaryRequest(path, json.serialize, json.deserialize as (b: Buffer) => EchoReply, {}, { deadline: Date.now() + timeoutMs }, (err, reply) => {
        if (err) resolve({ ok: false, code: err.code ?? grpc.status.UNKNOWN, details: err.details ?? err.message });
        else resolve({ ok: true, reply: reply as EchoReply });
      });
    });
  }

  /** Sequential calls, counting replies per server name and failures per status code name. */
  async tally(calls: number, path: string = ECHO_PATH): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (let i = 0; i < calls; i++) {
      const r = await this.call(path);
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

  /** Replaces the certificate files atomically (as the agent does); grpc-js-xds re-reads them. */
  async rotate(c: IssuedCertificate): Promise<void> {
    for (const [file, content, mode] of [
      ['cert.pem', c.chainPem, 0o644],
      ['key.pem', c.privateKey.reveal(), 0o600],
      ['ca.pem', c.trustBundlePem, 0o644],
    ] as const) {
      const tmp = join(this.dir, `.${file}.tmp`);
      await writeFile(tmp, content, { mode });
      await rename(tmp, join(this.dir, file));
    }
  }

  /** An xDS-enabled echo server on `ip:port`; resolves once the controller sent a valid Listener for it. */
  async serve(ip: string, port: number, name: string): Promise<EchoServer> {
    const xds = await loadGrpcXds();
    const server = new xds.XdsServer({ [BOOTSTRAP_OPTION]: this.bootstrap, drainGraceTimeMs: 50 });
    const reply = (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, { server: name, peer: peerUri(call) } satisfies EchoReply);
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
