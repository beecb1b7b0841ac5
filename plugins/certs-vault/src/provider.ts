import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  ErrorCodes,
  SecretValue,
  TrellisError,
  backoffDelay,
  type CertificateRequest,
  type CertificatesPlugin,
  type ErrorCode,
  type IssuedCertificate,
  type Logger,
  type Readiness,
  type SignRequest,
  type SignedCertificate,
  type TrustBundle,
} from '@trellis/plugin-sdk';
import { send, TransportError, type HttpResponse } from './internal/http.ts';

export type VaultAuth =
  | { readonly token: string }
  | { readonly kubernetes: { readonly role: string; readonly jwtPath: string; readonly mount: string } };

export interface VaultOptions {
  readonly address: string;
  readonly mount: string;
  readonly role: string;
  readonly auth: VaultAuth;
  readonly namespace?: string;
  /** PEM of the CA that signed Vault's TLS certificate (the content, not the path). */
  readonly caPem?: string;
  readonly timeoutMs: number;
  /** Retries of one call: exponential from `baseDelayMs`, jittered, each wait capped at `maxDelayMs` (default 10s). */
  readonly retries: { readonly max: number; readonly baseDelayMs: number; readonly maxDelayMs?: number };
  /** Upper bound of the background readiness retry delay (default 30s). */
  readonly maxBackgroundDelayMs?: number;
  readonly logger?: Logger;
  /** How to wait between retries (tests record the waits instead of sleeping). */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** The default cap of one retry wait: without it `retries.max: 20` would make the last wait ~29 h. */
export const DEFAULT_RETRY_MAX_DELAY_MS = 10_000;

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const pemBlocks = (text: string): string[] => (text.match(CERT_BLOCK) ?? []).map((b) => `${b}\n`);
const fingerprintOf = (pem: string): string => new X509Certificate(pem).fingerprint256.replace(/:/g, '').toLowerCase();

function vaultErrors(res: HttpResponse): string {
  try {
    const body = JSON.parse(res.text) as { errors?: unknown };
    if (Array.isArray(body.errors) && body.errors.length) return body.errors.map(String).join('; ');
  } catch {
    // not JSON: fall through
  }
  return res.text.trim().slice(0, 200) || 'no error text';
}

const sameSet = (a: readonly string[], b: readonly string[]): boolean => a.length === new Set(b).size && a.every((x) => b.includes(x));

/**
 * Vault signs what the role allows, and a role with `use_csr_common_name` / `use_csr_sans` (Vault's defaults)
 * takes the names from the workload's CSR instead of the controller's: accept only a certificate of the
 * CSR's key with exactly the names the controller asked for.
 */
function checkSigned(leaf: X509Certificate, req: SignRequest, where: string): void {
  const fail = (what: string): TrellisError =>
    new TrellisError(ErrorCodes.CERT_ISSUE_FAILED, `vault ${where}: the signed certificate ${what}; refusing it (set use_csr_common_name=false and use_csr_sans=false on the role)`);
  const key = leaf.publicKey.export({ type: 'spki', format: 'der' });
  if (!key.equals(Buffer.from(req.publicKeyDer))) throw fail("is not of the CSR's public key");
  const cn = /^CN=(.*)$/m.exec(leaf.subject)?.[1];
  if (cn !== req.commonName) throw fail(`has CN ${JSON.stringify(cn ?? '')}, not ${JSON.stringify(req.commonName)}`);
  const sans = (leaf.subjectAltName ?? '').split(', ').filter(Boolean);
  const dns = sans.filter((x) => x.startsWith('DNS:')).map((x) => x.slice(4));
  const uris = sans.filter((x) => x.startsWith('URI:')).map((x) => x.slice(4));
  if (!sameSet(dns, req.dnsNames) || !sameSet(uris, req.uris) || sans.length !== dns.length + uris.length)
    throw fail(`names ${JSON.stringify(sans)} are not the requested ${JSON.stringify([...req.dnsNames.map((d) => `DNS:${d}`), ...req.uris.map((u) => `URI:${u}`)])}`);
}

/** Vault's PKI secrets engine over its HTTP API. */
export function createVaultProvider(opts: VaultOptions): CertificatesPlugin {
  const base = opts.address.replace(/\/+$/, '');
  let token: string | undefined = 'token' in opts.auth ? opts.auth.token : undefined;
  let bundle: TrustBundle | undefined;
  let notReady = 'waiting for the first trust bundle from Vault';
  let stopped = false;
  let bgTimer: NodeJS.Timeout | undefined;

  const url = (path: string): URL => new URL(`${base}/v1/${path}`);
  const wait = opts.sleep ?? sleep;
  const retryBackoff = { baseMs: opts.retries.baseDelayMs, maxMs: opts.retries.maxDelayMs ?? DEFAULT_RETRY_MAX_DELAY_MS };

  async function login(): Promise<string> {
    if (!('kubernetes' in opts.auth)) throw new Error('unreachable');
    const k = opts.auth.kubernetes;
    let jwt: string;
    try {
      jwt = (await readFile(k.jwtPath, 'utf8')).trim();
    } catch (err) {
      throw new TrellisError(ErrorCodes.CERT_PROVIDER_UNAVAILABLE, `vault: reading the service account token ${k.jwtPath}: ${(err as Error).message}`, { cause: err });
    }
    const res = await call('POST', `auth/${k.mount}/login`, { role: k.role, jwt }, ErrorCodes.CERT_PROVIDER_UNAVAILABLE, {
      authenticated: false,
      hint: `check the kubernetes auth role "${k.role}" at auth/${k.mount} binds this service account`,
    });
    const t = (JSON.parse(res.text) as { auth?: { client_token?: unknown } }).auth?.client_token;
    if (typeof t !== 'string' || !t) throw new TrellisError(ErrorCodes.CERT_PROVIDER_UNAVAILABLE, `vault ${url(`auth/${k.mount}/login`).href}: the response has no auth.client_token`);
    opts.logger?.info('logged in to Vault with kubernetes auth', { role: k.role, mount: k.mount });
    return t;
  }

  /**
   * One Vault API call: retries 5xx, timeouts and connection errors with exponential backoff and jitter;
   * re-logs in once on 403 with kubernetes auth; turns other 4xx into a precise error.
   */
  async function call(
    method: string,
    path: string,
    body: unknown,
    code: ErrorCode,
    ctx: { authenticated?: boolean; hint?: string } = {},
  ): Promise<HttpResponse> {
    const target = url(path);
    const authenticated = ctx.authenticated ?? true;
    let relogged = false;
    let lastReason = '';
    for (let attempt = 0; attempt <= opts.retries.max; attempt++) {
      if (attempt > 0) await wait(backoffDelay(attempt, retryBackoff));
      const headers: Record<string, string> = { accept: 'application/json' };
      if (opts.namespace) headers['x-vault-namespace'] = opts.namespace;
      if (authenticated) {
        token ??= await login();
        headers['x-vault-token'] = token;
      }
      let res: HttpResponse;
      try {
        res = await send(target, { method, headers, timeoutMs: opts.timeoutMs, ...(body === undefined ? {} : { body: JSON.stringify(body) }), ...(opts.caPem ? { ca: opts.caPem } : {}) });
      } catch (err) {
        if (!(err instanceof TransportError)) throw err;
        lastReason = err.message;
        opts.logger?.debug('vault request failed; retrying', { url: target.href, attempt, error: lastReason });
        continue;
      }
      if (res.status >= 200 && res.status < 300) return res;
      if (res.status >= 500) {
        lastReason = `${res.status} ${vaultErrors(res)}`;
        continue;
      }
      if (res.status === 403 && authenticated && 'kubernetes' in opts.auth && !relogged) {
        relogged = true;
        token = undefined; // the Vault token expired or was revoked: log in again, once
        attempt--;
        continue;
      }
      const hint = ctx.hint ?? (res.status === 403 ? `check the token's policy allows ${method === 'GET' ? 'read' : 'update'} on ${path}` : undefined);
      throw new TrellisError(code, `vault ${target.href}: ${res.status} ${vaultErrors(res)}${hint ? ` (${hint})` : ''}`);
    }
    throw new TrellisError(ErrorCodes.CERT_PROVIDER_UNAVAILABLE, `vault ${target.href}: unavailable after ${opts.retries.max + 1} attempt(s): ${lastReason}`);
  }

  async function fetchBundle(): Promise<TrustBundle> {
    const res = await call('GET', `${opts.mount}/ca_chain`, undefined, ErrorCodes.CERT_PROVIDER_UNAVAILABLE);
    const roots = pemBlocks(res.text);
    if (!roots.length) throw new TrellisError(ErrorCodes.CERT_PROVIDER_UNAVAILABLE, `vault ${url(`${opts.mount}/ca_chain`).href}: no certificate in the response (is the PKI mount configured with a CA?)`);
    bundle = { roots, issuerId: fingerprintOf(roots[0] ?? '') };
    return bundle;
  }

  /** Keeps trying to fetch the trust bundle until it works; readiness reports why not meanwhile. */
  async function untilReady(attempt: number): Promise<void> {
    if (stopped || bundle) return;
    const delayMs = backoffDelay(attempt, { baseMs: Math.max(opts.retries.baseDelayMs, 50), maxMs: opts.maxBackgroundDelayMs ?? 30_000, jitter: 0 });
    try {
      const b = await fetchBundle();
      opts.logger?.info('Vault PKI reachable; trust bundle fetched', { address: base, mount: opts.mount, issuer: b.issuerId });
    } catch (err) {
      notReady = (err as Error).message;
      opts.logger?.warn('Vault not ready; retrying in the background', { reason: notReady, retryInMs: delayMs });
      if (stopped) return;
      bgTimer = setTimeout(() => void untilReady(attempt + 1), delayMs);
      bgTimer.unref();
    }
  }

  /** A response's `data`; Vault's warnings (e.g. a `ttl` cut to the role's `max_ttl`) are logged. */
  function dataOf(res: HttpResponse, path: string): Record<string, unknown> {
    const body = JSON.parse(res.text) as { data?: Record<string, unknown>; warnings?: unknown };
    if (Array.isArray(body.warnings) && body.warnings.length) opts.logger?.warn('vault answered with warnings', { url: url(path).href, warnings: body.warnings.map(String) });
    return body.data ?? {};
  }

  /** The certificate, chain and trust bundle of an `issue` or `sign` response's `data`. */
  async function signedFrom(data: Record<string, unknown>, path: string): Promise<SignedCertificate> {
    const { certificate, issuing_ca: issuingCa } = data;
    if (typeof certificate !== 'string' || typeof issuingCa !== 'string')
      throw new TrellisError(ErrorCodes.CERT_ISSUE_FAILED, `vault ${url(path).href}: the response lacks data.certificate or data.issuing_ca`);
    const leaf = new X509Certificate(certificate);
    const chain = Array.isArray(data.ca_chain) ? data.ca_chain.filter((c): c is string => typeof c === 'string') : [issuingCa];
    // The chain sent to peers: leaf + intermediates (self-signed roots are for trust bundles).
    const intermediates = chain.flatMap(pemBlocks).filter((p) => {
      const c = new X509Certificate(p);
      return c.subject !== c.issuer;
    });
    const trust = bundle ?? (await fetchBundle());
    return {
      certificatePem: `${certificate.trim()}\n`,
      chainPem: [`${certificate.trim()}\n`, ...intermediates].join(''),
      issuingCaPem: `${issuingCa.trim()}\n`,
      trustBundlePem: trust.roots.join(''),
      serialNumber: leaf.serialNumber.toUpperCase(),
      notBefore: new Date(leaf.validFrom),
      notAfter: new Date(leaf.validTo),
    };
  }

  return {
    async start() {
      stopped = false;
      await untilReady(1);
    },
    stop() {
      stopped = true;
      if (bgTimer) clearTimeout(bgTimer);
      bgTimer = undefined;
    },
    readiness(): Readiness {
      return bundle ? { ready: true } : { ready: false, reason: notReady };
    },
    trustBundle: fetchBundle,
    async issue(req: CertificateRequest): Promise<IssuedCertificate> {
      const keyParams = req.keyType === 'ecdsa-p256' ? { key_type: 'ec', key_bits: 256 } : { key_type: 'rsa', key_bits: Number(req.keyType.slice(4)) };
      const res = await call(
        'POST',
        `${opts.mount}/issue/${opts.role}`,
        {
          common_name: req.commonName,
          alt_names: req.dnsNames.join(','),
          uri_sans: req.uris.join(','),
          ttl: `${Math.ceil(req.validityMs / 1000)}s`,
          // The PEM envelope comes from `format`; `private_key_format` picks the key's encoding inside it (Vault
          // accepts `der`, the key type's own form, or `pkcs8`): PKCS#8 is one form for EC and RSA keys alike.
          format: 'pem',
          private_key_format: 'pkcs8',
          ...keyParams,
        },
        ErrorCodes.CERT_ISSUE_FAILED,
      );
      const data = dataOf(res, `${opts.mount}/issue/${opts.role}`);
      const key = data.private_key;
      if (typeof key !== 'string') throw new TrellisError(ErrorCodes.CERT_ISSUE_FAILED, `vault ${url(`${opts.mount}/issue/${opts.role}`).href}: the response lacks data.private_key`);
      return { ...(await signedFrom(data, `${opts.mount}/issue/${opts.role}`)), privateKey: new SecretValue(key) };
    },
    async sign(req: SignRequest): Promise<SignedCertificate> {
      const path = `${opts.mount}/sign/${opts.role}`;
      // The names are the controller's (never the CSR's); exclude_cn_from_sans keeps the SANs exactly those.
      const res = await call(
        'POST',
        path,
        {
          csr: req.csrPem,
          common_name: req.commonName,
          alt_names: req.dnsNames.join(','),
          uri_sans: req.uris.join(','),
          ttl: `${Math.ceil(req.validityMs / 1000)}s`,
          format: 'pem',
          exclude_cn_from_sans: true,
        },
        ErrorCodes.CERT_ISSUE_FAILED,
      );
      const signed = await signedFrom(dataOf(res, path), path);
      checkSigned(new X509Certificate(signed.certificatePem), req, url(path).href);
      return signed;
    },
  };
}
