import {
  formatNodeId,
  identityKey,
  parseIdentityKey,
  type CertificatesPlugin,
  type Counter,
  type Identity,
  type Logger,
  type Metrics,
  type NodeIdentity,
  type SignedCertificate,
} from '@trellis/plugin-sdk';
import { bootstrapNames, workloadNames } from '../certs/names.ts';
import { TokenBucket } from '../xds/index.ts';
import type { Authenticator, AuthMethod, Credentials } from './authenticators.ts';
import { CsrError, verifyCsr } from './csr.ts';

/** What a workload asks for: a workload certificate, or (with `node`) an Envoy's xDS client certificate. */
export interface IssueRequest {
  readonly identity: string;
  readonly csr: string;
  /** Set for an xDS client certificate: the node id's uuid and kind (the controller fills in the rest). */
  readonly node?: { readonly uuid: string; readonly kind: string };
}

export interface IssueResponse {
  readonly certificateChainPem: string;
  readonly trustBundlePem: string;
  readonly serialNumber: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly trustDomain: string;
  readonly nodeId?: string;
}

export class IdentityRefused extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 503,
    message: string,
  ) {
    super(message);
  }
}

export interface IdentityServiceOptions {
  readonly provider: CertificatesPlugin;
  readonly authenticators: readonly Authenticator[];
  readonly trustDomain: () => string;
  readonly workloadValidityMs: () => number;
  readonly bootstrapValidityMs: () => number;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly now?: () => number;
}

interface IdentityStats {
  issued: number;
  byMethod: Partial<Record<AuthMethod, number>>;
  lastSerial?: string;
  lastNotAfter?: string;
  lastIssuedAt?: string;
}

interface Refusal {
  readonly at: string;
  readonly wanted: string;
  readonly method: string;
  readonly reason: string;
  readonly proven?: string;
  readonly peer?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const KIND = /^[a-z][a-z0-9-]{0,30}$/;
const MAX_REFUSALS = 100;

/**
 * The controller's identity service: authenticates a workload's credential, checks it proves the identity
 * asked for, verifies the CSR and has the provider sign the workload's own public key. The CA never leaves
 * the controller and no private key passes through here.
 */
export class IdentityService {
  readonly #o: IdentityServiceOptions;
  readonly #log: Logger;
  readonly #issued: Counter;
  readonly #refused: Counter;
  readonly #stats = new Map<string, IdentityStats>();
  readonly #refusals: Refusal[] = [];
  readonly #refusalsByReason = new Map<string, number>();
  readonly #logBudget = new TokenBucket(5, 20);

  constructor(o: IdentityServiceOptions) {
    this.#o = o;
    this.#log = o.logger.child({ component: 'identity' });
    this.#issued = o.metrics.counter({ name: 'trellis_identity_issued_total', help: 'Certificates the identity service signed, by identity, kind and credential.', labelNames: ['identity', 'kind', 'method'] });
    this.#refused = o.metrics.counter({ name: 'trellis_identity_refused_total', help: 'Identity service requests refused, by credential kind and reason.', labelNames: ['method', 'reason'] });
  }

  async issue(body: unknown, creds: Credentials, peer?: string): Promise<IssueResponse> {
    const req = parseRequest(body);
    const wanted = parseIdentityKey(req.identity);
    if (!wanted) throw new IdentityRefused(400, `identity must be <namespace>/<serviceaccount>, got ${JSON.stringify(req.identity.slice(0, 100))}`);
    let auth;
    for (const a of this.#o.authenticators) {
      auth = await a.authenticate(creds, wanted);
      if (auth) break;
    }
    if (!auth) auth = { ok: false as const, method: 'none' as const, reason: 'no credential: send a join token or ServiceAccount token as a Bearer, or renew with the current certificate' };
    if (!auth.ok) {
      this.#refuse(wanted, auth.method, auth.reason, auth.proven, peer);
      throw new IdentityRefused(auth.method === 'none' ? 401 : 403, `refused ${identityKey(wanted)}: ${auth.reason}`);
    }
    let publicKeyDer: Uint8Array;
    try {
      publicKeyDer = await verifyCsr(req.csr);
    } catch (err) {
      if (err instanceof CsrError) {
        this.#refuse(wanted, auth.method, `bad csr: ${err.message}`, undefined, peer);
        throw new IdentityRefused(400, `csr: ${err.message}`);
      }
      throw err;
    }
    const sign = this.#o.provider.sign?.bind(this.#o.provider);
    if (!sign) throw new IdentityRefused(503, 'the configured certificates plugin cannot sign CSRs (sign): the identity service needs one that can (selfsigned, vault)');
    const td = this.#o.trustDomain();
    const node: NodeIdentity | undefined = req.node ? { uuid: req.node.uuid, kind: req.node.kind, ...auth.identity, trustDomain: td } : undefined;
    const names = node ? bootstrapNames(node) : workloadNames(auth.identity, td);
    const validityMs = node ? this.#o.bootstrapValidityMs() : this.#o.workloadValidityMs();
    let cert: SignedCertificate;
    try {
      cert = await sign({ ...names, validityMs, csrPem: req.csr, publicKeyDer });
    } catch (err) {
      this.#log.error('signing a CSR failed', { identity: identityKey(auth.identity), error: (err as Error).message });
      throw new IdentityRefused(503, `signing failed: ${(err as Error).message}`);
    }
    this.#record(auth.identity, node ? 'bootstrap' : 'workload', auth.method, cert);
    this.#log.info('certificate issued', { identity: identityKey(auth.identity), kind: node ? 'bootstrap' : 'workload', method: auth.method, serial: cert.serialNumber, notAfter: cert.notAfter.toISOString() });
    return {
      certificateChainPem: cert.chainPem,
      trustBundlePem: cert.trustBundlePem,
      serialNumber: cert.serialNumber,
      notBefore: cert.notBefore.toISOString(),
      notAfter: cert.notAfter.toISOString(),
      trustDomain: td,
      ...(node ? { nodeId: formatNodeId(node) } : {}),
    };
  }

  /** `/debug/certs/issuance`: issuance by identity and recent refusals (never a credential or key). */
  debug(): { issued: Record<string, IdentityStats>; refusals: { total: Record<string, number>; recent: readonly Refusal[] } } {
    return {
      issued: Object.fromEntries([...this.#stats].sort(([a], [b]) => a.localeCompare(b))),
      refusals: { total: Object.fromEntries(this.#refusalsByReason), recent: [...this.#refusals] },
    };
  }

  #record(identity: Identity, kind: 'workload' | 'bootstrap', method: AuthMethod, cert: SignedCertificate): void {
    const key = identityKey(identity);
    const s = this.#stats.get(key) ?? { issued: 0, byMethod: {} };
    s.issued++;
    s.byMethod[method] = (s.byMethod[method] ?? 0) + 1;
    s.lastSerial = cert.serialNumber;
    s.lastNotAfter = cert.notAfter.toISOString();
    s.lastIssuedAt = new Date((this.#o.now ?? Date.now)()).toISOString();
    this.#stats.set(key, s);
    this.#issued.inc({ identity: key, kind, method });
  }

  #refuse(wanted: Identity, method: string, reason: string, proven: string | undefined, peer: string | undefined): void {
    // The label is the reason's kind (bounded), the log and debug page carry the detail.
    const kind = reasonKind(reason);
    this.#refused.inc({ method, reason: kind });
    this.#refusalsByReason.set(kind, (this.#refusalsByReason.get(kind) ?? 0) + 1);
    const r: Refusal = { at: new Date((this.#o.now ?? Date.now)()).toISOString(), wanted: identityKey(wanted), method, reason, ...(proven ? { proven } : {}), ...(peer ? { peer } : {}) };
    this.#refusals.push(r);
    if (this.#refusals.length > MAX_REFUSALS) this.#refusals.shift();
    if (this.#logBudget.tryTake()) this.#log.warn('identity request refused', { ...r });
  }
}

function reasonKind(reason: string): string {
  for (const k of ['identity_mismatch', 'reused', 'expired', 'unknown', 'malformed', 'another identity', 'TokenReview', 'trust domain', 'SPIFFE', 'bad csr', 'no credential'])
    if (reason.includes(k)) return k.replace(/ /g, '_').toLowerCase();
  return 'other';
}

function parseRequest(body: unknown): IssueRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new IdentityRefused(400, 'the body must be a JSON object { identity, csr, node? }');
  const b = body as Record<string, unknown>;
  if (typeof b.identity !== 'string') throw new IdentityRefused(400, 'identity: must be a string "<namespace>/<serviceaccount>"');
  if (typeof b.csr !== 'string') throw new IdentityRefused(400, 'csr: must be a PEM CERTIFICATE REQUEST string');
  let node: IssueRequest['node'];
  if (b.node !== undefined) {
    const n = b.node as Record<string, unknown> | null;
    if (typeof n !== 'object' || n === null || typeof n.uuid !== 'string' || !UUID.test(n.uuid)) throw new IdentityRefused(400, 'node.uuid: must be a lower-case UUID');
    if (typeof n.kind !== 'string' || !KIND.test(n.kind)) throw new IdentityRefused(400, 'node.kind: must be a node kind such as "sidecar"');
    node = { uuid: n.uuid, kind: n.kind };
  }
  return { identity: b.identity, csr: b.csr, ...(node ? { node } : {}) };
}
