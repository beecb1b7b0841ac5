import 'reflect-metadata'; // @peculiar/x509 uses tsyringe, which needs the Reflect polyfill
import { createPrivateKey, webcrypto } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import * as x509 from '@peculiar/x509';

/**
 * A fake HashiCorp Vault speaking the documented HTTP API shapes of the PKI secrets engine and the Kubernetes
 * auth method, with a real CA behind it (@peculiar/x509, an implementation independent of Trellis's own) and
 * injected faults. Endpoints:
 *   POST /v1/<mount>/issue/<role>   -> { data: { certificate, private_key, private_key_type, issuing_ca, ca_chain, serial_number, expiration } }
 *   POST /v1/<mount>/sign/<role>    -> { data: { certificate, issuing_ca, ca_chain, serial_number, expiration } }
 *        (signs the CSR's public key under the role's rules: `FakeVaultRole`)
 *   GET  /v1/<mount>/ca_chain       -> PEM text
 *   POST /v1/auth/<k8s>/login       -> { auth: { client_token, policies, lease_duration, renewable } }
 * Errors are `{"errors":["..."]}` with Vault's status codes.
 */

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export interface FakeVaultOptions {
  /** Serve HTTPS with a certificate from this test CA (PEM cert + key). */
  readonly tls?: { readonly certPem: string; readonly keyPem: string };
  readonly tokens?: readonly string[];
  readonly mount?: string;
  readonly roles?: readonly string[];
  /** Requests must carry this X-Vault-Namespace. */
  readonly namespace?: string;
  readonly kubernetes?: { readonly mount?: string; readonly role: string; readonly jwt: string };
  /** The PKI role's settings (every role of `roles`); unset fields take Vault's defaults. */
  readonly role?: Partial<FakeVaultRole>;
}

/** The role settings Vault applies on `sign/<role>` (names as in `POST /v1/<mount>/roles/<name>`). */
export interface FakeVaultRole {
  /** `use_csr_common_name` (Vault's default true): the certificate takes the CSR's CN, not `common_name`. */
  readonly useCsrCommonName: boolean;
  /** `use_csr_sans` (Vault's default true): the certificate takes the CSR's SANs, not `alt_names`/`uri_sans`. */
  readonly useCsrSans: boolean;
  /** `key_type` (Vault's default "rsa"): the key type a CSR must have; `any` takes RSA >= 2048 or EC >= 224. */
  readonly keyType: 'rsa' | 'ec' | 'any';
  /** `allowed_uri_sans` globs. Vault's default is none; here `*` so the issue tests need no role setup. */
  readonly allowedUriSans: readonly string[];
  /** `max_ttl` in seconds: a longer `ttl` is cut to it, with a warning (as Vault does). */
  readonly maxTtlSeconds?: number;
}

const VAULT_ROLE_DEFAULTS: FakeVaultRole = { useCsrCommonName: true, useCsrSans: true, keyType: 'rsa', allowedUriSans: ['*'] };

export interface FakeVaultFaults {
  /** Every connection is reset (Vault unreachable). */
  down: boolean;
  /** The next N API requests answer 503. */
  fail5xx: number;
  /** The next N API requests are answered after `slowMs`. */
  slow: number;
  slowMs: number;
  /** Every request answers 403 permission denied. */
  forbid: boolean;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: unknown;
}

type Keys = webcrypto.CryptoKeyPair;
const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

const split = (v: unknown): string[] => (typeof v === 'string' && v ? v.split(',').map((x) => x.trim()) : []);

/** Vault's glob (github.com/ryanuber/go-glob): `*` matches any run of characters. */
function globMatch(glob: string, value: string): boolean {
  const escaped = glob.split('*').map((part) => part.replace(/[.*+?^$()|{}[\]\\]/g, '\\$&'));
  const re = new RegExp('^' + escaped.join('.*') + '$');
  return re.test(value);
}

function pem(der: ArrayBuffer, label: string): string {
  return `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').trimEnd()}\n-----END ${label}-----\n`;
}

export class FakeVault {
  readonly faults: FakeVaultFaults = { down: false, fail5xx: 0, slow: 0, slowMs: 0, forbid: false };
  readonly requests: RecordedRequest[] = [];
  readonly issuedTokens = new Set<string>();
  readonly #opts: FakeVaultOptions;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #ca: { cert: x509.X509Certificate; keys: Keys; pem: string } | undefined;
  #url = '';

  constructor(opts: FakeVaultOptions = {}) {
    this.#opts = opts;
    const handler = (req: IncomingMessage, res: ServerResponse): void => void this.#handle(req, res);
    this.#server = opts.tls ? createHttpsServer({ cert: opts.tls.certPem, key: opts.tls.keyPem }, handler) : createHttpServer(handler);
    const onSocket = (s: Socket): void => {
      if (this.faults.down) {
        s.destroy();
        return;
      }
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    };
    this.#server.on(opts.tls ? 'secureConnection' : 'connection', onSocket);
    if (opts.tls) this.#server.on('connection', (s: Socket) => this.faults.down && s.destroy());
  }

  get url(): string {
    return this.#url;
  }

  /** The PKI mount's CA certificate (what `ca_chain` returns). */
  get caPem(): string {
    return this.#ca?.pem ?? '';
  }

  async start(): Promise<this> {
    await this.rotateCa();
    await new Promise<void>((r) => this.#server.listen(0, '127.0.0.1', r));
    const port = (this.#server.address() as AddressInfo).port;
    this.#url = `${this.#opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }

  /** Replaces the PKI mount's CA (like `pki/root/generate` on a fresh mount). */
  async rotateCa(): Promise<void> {
    const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=Fake Vault Root CA',
      keys,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 365 * 86_400_000),
      signingAlgorithm: EC,
      extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
    });
    this.#ca = { cert, keys, pem: cert.toString('pem') + '\n' };
  }

  #send(res: ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
    res.writeHead(status, { 'content-type': contentType });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.faults.down) {
      req.socket.destroy(); // a kept-alive connection from before the outage
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      return this.#send(res, 400, { errors: ['failed to parse JSON input'] });
    }
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    this.requests.push({ method: req.method ?? '', path, headers: req.headers, body });
    if (this.faults.slow > 0) {
      this.faults.slow--;
      await new Promise((r) => setTimeout(r, this.faults.slowMs));
      if (res.destroyed) return;
    }
    if (this.faults.fail5xx > 0) {
      this.faults.fail5xx--;
      return this.#send(res, 503, { errors: ['Vault is sealed'] });
    }
    if (this.#opts.namespace && req.headers['x-vault-namespace'] !== this.#opts.namespace)
      return this.#send(res, 403, { errors: ['permission denied'] });

    const mount = this.#opts.mount ?? 'pki';
    const k8s = this.#opts.kubernetes;
    if (k8s && req.method === 'POST' && path === `/v1/auth/${k8s.mount ?? 'kubernetes'}/login`) {
      const b = body as { role?: string; jwt?: string } | undefined;
      if (b?.role !== k8s.role) return this.#send(res, 400, { errors: [`invalid role name "${b?.role}"`] });
      if (b.jwt !== k8s.jwt) return this.#send(res, 403, { errors: ['permission denied'] });
      const token = `hvs.k8s-${this.issuedTokens.size + 1}`;
      this.issuedTokens.add(token);
      return this.#send(res, 200, { auth: { client_token: token, policies: ['default', 'pki-issue'], lease_duration: 3600, renewable: true } });
    }
    const token = req.headers['x-vault-token'];
    const valid = typeof token === 'string' && ((this.#opts.tokens ?? []).includes(token) || this.issuedTokens.has(token));
    if (this.faults.forbid || !valid) return this.#send(res, 403, { errors: ['permission denied'] });

    if (req.method === 'GET' && path === `/v1/${mount}/ca_chain`) return this.#send(res, 200, this.caPem, 'application/pem-certificate-chain');
    const op = new RegExp(`^/v1/${mount}/(issue|sign)/([^/]+)$`).exec(path);
    if (req.method === 'POST' && op) {
      const role = op[2] ?? '';
      if (!(this.#opts.roles ?? ['mesh']).includes(role)) return this.#send(res, 400, { errors: [`unknown role: ${role}`] });
      const b = (body ?? {}) as Record<string, unknown>;
      const warnings: string[] = [];
      try {
        const data = op[1] === 'sign' ? await this.#sign(b, warnings) : await this.#issue(b, warnings);
        return this.#send(res, 200, { request_id: 'fake', lease_id: '', renewable: false, lease_duration: 0, data, warnings: warnings.length ? warnings : null });
      } catch (err) {
        return this.#send(res, 400, { errors: [(err as Error).message] });
      }
    }
    return this.#send(res, 404, { errors: [] });
  }

  get #role(): FakeVaultRole {
    return { ...VAULT_ROLE_DEFAULTS, ...this.#opts.role };
  }

  async #issue(b: Record<string, unknown>, warnings: string[]): Promise<Record<string, unknown>> {
    // Vault's values: `format` pem (default) / der / pem_bundle (this fake answers pem only);
    // `private_key_format` der (default: the key type's own encoding, SEC1 or PKCS#1) / pkcs8.
    const format = b.format ?? 'pem';
    if (format !== 'pem') throw new Error(format === 'der' || format === 'pem_bundle' ? `the fake Vault answers format "pem" only, got ${JSON.stringify(format)}` : `invalid format specified: ${JSON.stringify(format)}`);
    const keyFormat = b.private_key_format ?? 'der';
    if (keyFormat !== 'der' && keyFormat !== 'pkcs8' && keyFormat !== '') throw new Error(`invalid private_key_format specified: ${JSON.stringify(keyFormat)} (allowed: der, pkcs8)`);
    const cn = b.common_name;
    if (typeof cn !== 'string' || !cn) throw new Error('the common_name field is required');
    const rsa = b.key_type === 'rsa';
    const alg = rsa ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: Number(b.key_bits ?? 2048) } : EC;
    const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
    const cert = await this.#leaf(keys.publicKey, cn, split(b.alt_names), split(b.uri_sans), b, warnings);
    const pkcs8 = pem(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
    const keyPem = keyFormat === 'pkcs8' ? pkcs8 : (createPrivateKey(pkcs8).export({ type: rsa ? 'pkcs1' : 'sec1', format: 'pem' }) as string);
    return { ...this.#certData(cert), private_key: keyPem, private_key_type: rsa ? 'rsa' : 'ec' };
  }

  /** `sign/<role>`: the CSR must parse and verify and have the role's key type; names per use_csr_*. */
  async #sign(b: Record<string, unknown>, warnings: string[]): Promise<Record<string, unknown>> {
    const role = this.#role;
    if (typeof b.csr !== 'string' || !b.csr) throw new Error('"csr" is empty');
    let csr: x509.Pkcs10CertificateRequest;
    try {
      csr = new x509.Pkcs10CertificateRequest(b.csr);
    } catch {
      throw new Error('certificate request could not be parsed');
    }
    if (!(await csr.verify().catch(() => false))) throw new Error('request signature invalid');
    const publicKey = await csr.publicKey.export(webcrypto);
    const alg = publicKey.algorithm as webcrypto.RsaHashedKeyAlgorithm | webcrypto.EcKeyAlgorithm;
    const kind = alg.name === 'ECDSA' ? 'ec' : 'rsa';
    const bits = 'modulusLength' in alg ? alg.modulusLength : Number(/P-(\d+)/.exec(alg.namedCurve)?.[1] ?? 0);
    if (role.keyType !== 'any' && role.keyType !== kind) throw new Error(`role requires keys of type ${role.keyType}`);
    if ((kind === 'rsa' && bits < 2048) || (kind === 'ec' && bits < 224)) throw new Error(`role requires a minimum of ${kind === 'rsa' ? 2048 : 224} bits for ${kind} keys`);
    const csrCn = /(?:^|,\s*)CN=([^,]+)/.exec(csr.subject)?.[1];
    const cn = role.useCsrCommonName ? csrCn : typeof b.common_name === 'string' ? b.common_name : undefined;
    if (!cn) throw new Error('the common_name field is required, or must be provided in a CSR with "use_csr_common_name" set to true');
    let dns = split(b.alt_names);
    let uris = split(b.uri_sans);
    if (role.useCsrSans) {
      const ext = csr.getExtension('2.5.29.17');
      const names = ext ? new x509.SubjectAlternativeNameExtension(ext.rawData).names.items : [];
      dns = names.filter((n) => n.type === 'dns').map((n) => n.value);
      uris = names.filter((n) => n.type === 'url').map((n) => n.value);
    }
    return this.#certData(await this.#leaf(publicKey, cn, dns, uris, b, warnings));
  }

  async #leaf(publicKey: webcrypto.CryptoKey, cn: string, altNames: string[], uris: string[], b: Record<string, unknown>, warnings: string[]): Promise<x509.X509Certificate> {
    const ca = this.#ca;
    if (!ca) throw new Error('no CA');
    const role = this.#role;
    for (const u of uris) if (!role.allowedUriSans.some((g) => globMatch(g, u))) throw new Error(`URI Subject Alternative Names are not allowed in this role, but was provided ${u}`);
    const ttlText = typeof b.ttl === 'string' ? b.ttl : '86400s';
    const ttl = /^(\d+)s$/.exec(ttlText);
    if (!ttl) throw new Error(`invalid ttl ${ttlText}`);
    let ttlSeconds = Number(ttl[1]);
    if (role.maxTtlSeconds !== undefined && ttlSeconds > role.maxTtlSeconds) {
      warnings.push(`TTL "${ttlSeconds}s" is longer than permitted maxTTL "${role.maxTtlSeconds}s", so maxTTL is being used`);
      ttlSeconds = role.maxTtlSeconds;
    }
    // Vault puts the CN into the DNS SANs unless exclude_cn_from_sans.
    const dns = [...new Set([...(b.exclude_cn_from_sans === true ? [] : [cn]), ...altNames])];
    const rsa = publicKey.algorithm.name !== 'ECDSA';
    const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000);
    return x509.X509CertificateGenerator.create({
      subject: `CN=${cn}`,
      issuer: ca.cert.subject,
      publicKey,
      signingKey: ca.keys.privateKey,
      signingAlgorithm: EC,
      notBefore,
      notAfter: new Date(notBefore.getTime() + ttlSeconds * 1000),
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | (rsa ? x509.KeyUsageFlags.keyEncipherment : 0), true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
        new x509.SubjectAlternativeNameExtension([...dns.map((value) => ({ type: 'dns' as const, value })), ...uris.map((value) => ({ type: 'url' as const, value }))]),
      ],
    });
  }

  #certData(cert: x509.X509Certificate): Record<string, unknown> {
    const ca = this.#ca?.cert.toString('pem') ?? '';
    return {
      certificate: cert.toString('pem'),
      issuing_ca: ca,
      ca_chain: [ca],
      serial_number: cert.serialNumber.match(/../g)?.join(':') ?? cert.serialNumber,
      expiration: Math.floor(cert.notAfter.getTime() / 1000),
    };
  }
}
