import { X509Certificate } from 'node:crypto';
import {
  ErrorCodes,
  TrellisError,
  backoffDelay,
  formatNodeId,
  identityKey,
  mapConcurrent,
  type CertificateRequest,
  type CertificatesPlugin,
  type Counter,
  type EventBus,
  type Gauge,
  type Histogram,
  type Identity,
  type IssuedCertificate,
  type KeyType,
  type Logger,
  type Metrics,
  type NodeIdentity,
  type Readiness,
} from '@trellis/plugin-sdk';
import { bootstrapNames, shortCn, workloadNames } from './names.ts';
import { certificateRotated, type CertificateKind } from './topics.ts';

export interface CertificateManagerOptions {
  readonly provider: CertificatesPlugin;
  readonly bus: EventBus;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /**
   * The trust domain workload certificates name, read at each issuance (the mesh settings service: a
   * MeshConfig may change it at run time; `reissueWorkloads` then replaces every cached one).
   */
  readonly trustDomain: string | (() => string);
  /** Validity of issued certificates (default 24h). */
  readonly validityMs?: number;
  /**
   * Workload validity in effect at each issuance (a MeshConfig may change it at run time); defaults to
   * `validityMs`. A change applies from the next issuance or rotation.
   */
  readonly workloadValidityMs?: () => number;
  readonly keyType?: KeyType;
  /** Re-issue when this fraction of the validity is left (default 0.2). */
  readonly renewBefore?: number;
  /** Random extra lead, as a fraction of the validity, so certificates do not all renew at once (default 0.05). */
  readonly jitter?: number;
  /** How often the provider's trust bundle is polled for an issuer change (default 30s; 0 disables). */
  readonly bundlePollMs?: number;
  /**
   * A workload certificate `release`d (no proxy of its identity connected) is dropped from the cache after
   * this long unless asked for again (default 5 minutes), so identities that come and go do not pile up.
   */
  readonly evictUnusedAfterMs?: number;
  /** Backoff of failed rotations (default 1s doubling up to 60s). */
  readonly retry?: { readonly baseDelayMs?: number; readonly maxDelayMs?: number };
  readonly now?: () => number;
  readonly random?: () => number;
}

export interface CertificateDebugEntry {
  readonly key: string;
  readonly kind: CertificateKind;
  readonly subject: string;
  readonly identity?: Identity;
  readonly serialNumber: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly issuerId: string;
  readonly rotationFailing: boolean;
}

interface Entry {
  readonly key: string;
  readonly kind: CertificateKind;
  readonly identity?: Identity;
  request: CertificateRequest;
  cert?: IssuedCertificate;
  /** The request `cert` was issued for (its names differ from `request`'s after a trust-domain change). */
  certRequest?: CertificateRequest;
  issuerFingerprint?: string;
  inflight?: Promise<IssuedCertificate>;
  timer?: NodeJS.Timeout;
  failures: number;
  /** Set while released: drops the entry when it fires. */
  evictTimer?: NodeJS.Timeout;
}

const MAX_TIMER_MS = 2_147_000_000; // setTimeout's 32-bit limit
/** Re-issuances in flight at once after a trust bundle change. */
const REISSUE_CONCURRENCY = 16;

/**
 * Issues, caches and rotates the mesh's certificates through the configured provider. Concurrent requests
 * for one certificate share one issuance; a failed rotation keeps the current certificate serving until it
 * expires while retrying with backoff (and raises `trellis_certificates_rotation_failing`).
 */
export class CertificateManager {
  readonly #o: Required<Omit<CertificateManagerOptions, 'retry' | 'trustDomain'>> & { trustDomain: () => string; retryBase: number; retryMax: number };
  readonly #entries = new Map<string, Entry>();
  readonly #log: Logger;
  readonly #issued: Counter;
  readonly #rotations: Counter;
  readonly #errors: Counter;
  readonly #duration: Histogram;
  readonly #failing: Gauge;
  #bundleKey: string | undefined;
  #pollTimer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  #running = false;

  constructor(opts: CertificateManagerOptions) {
    this.#o = {
      provider: opts.provider,
      bus: opts.bus,
      logger: opts.logger,
      metrics: opts.metrics,
      trustDomain: typeof opts.trustDomain === 'function' ? opts.trustDomain : constant(opts.trustDomain),
      validityMs: opts.validityMs ?? 24 * 3_600_000,
      workloadValidityMs: opts.workloadValidityMs ?? (() => opts.validityMs ?? 24 * 3_600_000),
      keyType: opts.keyType ?? 'ecdsa-p256',
      renewBefore: opts.renewBefore ?? 0.2,
      jitter: opts.jitter ?? 0.05,
      bundlePollMs: opts.bundlePollMs ?? 30_000,
      evictUnusedAfterMs: opts.evictUnusedAfterMs ?? 300_000,
      retryBase: opts.retry?.baseDelayMs ?? 1_000,
      retryMax: opts.retry?.maxDelayMs ?? 60_000,
      now: opts.now ?? Date.now,
      random: opts.random ?? Math.random,
    };
    if (!(this.#o.renewBefore > 0 && this.#o.renewBefore < 1)) throw new RangeError(`renewBefore must be within (0, 1), got ${this.#o.renewBefore}`);
    if (!(this.#o.jitter >= 0 && this.#o.renewBefore + this.#o.jitter < 1)) throw new RangeError(`jitter must be >= 0 and renewBefore + jitter < 1, got ${this.#o.jitter}`);
    this.#log = opts.logger.child({ component: 'certificates' });
    const m = opts.metrics;
    this.#issued = m.counter({ name: 'trellis_certificates_issued_total', help: 'Certificates issued, by kind.', labelNames: ['kind'] });
    this.#rotations = m.counter({ name: 'trellis_certificates_rotations_total', help: 'Cached certificates replaced before expiry or on an issuer change.', labelNames: ['kind'] });
    this.#errors = m.counter({ name: 'trellis_certificates_errors_total', help: 'Failed issuances, by kind.', labelNames: ['kind'] });
    this.#duration = m.histogram({
      name: 'trellis_certificates_issuance_duration_seconds',
      help: 'Time the provider took to issue a certificate.',
      labelNames: ['kind'],
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    });
    this.#failing = m.gauge({ name: 'trellis_certificates_rotation_failing', help: 'Certificates whose rotation is failing (alert when > 0).' });
    this.#failing.set(0);
    m.gauge({
      name: 'trellis_certificates_expiry_horizon_seconds',
      help: 'Seconds until the soonest-expiring cached certificate of each kind expires (alert when it nears the renewal margin).',
      labelNames: ['kind'],
      current: () => {
        const soonest = new Map<string, number>();
        for (const e of this.#entries.values()) {
          if (!e.cert) continue;
          const end = e.cert.notAfter.getTime();
          soonest.set(e.kind, Math.min(end, soonest.get(e.kind) ?? end));
        }
        const now = this.#o.now();
        return [...soonest].map(([kind, end]) => ({ labels: { kind }, value: (end - now) / 1000 }));
      },
    });
  }

  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    if (this.#o.bundlePollMs > 0) {
      this.#pollTimer = setInterval(() => void this.checkTrustBundle(), this.#o.bundlePollMs);
      this.#pollTimer.unref();
    }
    for (const e of this.#entries.values()) if (e.cert && !e.timer) this.#schedule(e, this.#renewDelay(e.cert));
    // The first bundle sets the baseline; a provider not ready yet is retried by the poll.
    await this.checkTrustBundle();
  }

  stop(): void {
    this.#running = false;
    if (this.#pollTimer) clearInterval(this.#pollTimer);
    this.#pollTimer = undefined;
    for (const e of this.#entries.values()) {
      if (e.timer) clearTimeout(e.timer);
      e.timer = undefined;
    }
    for (const e of this.#entries.values()) if (e.evictTimer) this.#evict(e);
  }

  readiness(): Readiness {
    return this.#o.provider.readiness?.() ?? { ready: true };
  }

  /** The workload certificate of an identity: CN = DNS SAN = `<sa>.<ns>.<td>`, URI SAN = its SPIFFE ID. */
  workload(identity: Identity): Promise<IssuedCertificate> {
    return this.#get(`workload:${identityKey(identity)}`, 'workload', identity, workloadNames(identity, this.#o.trustDomain()));
  }

  /**
   * After a trust-domain change: re-issues every cached workload certificate for the domain in effect now and
   * publishes `certificateRotated` for each (the controller rebuilds their SDS secrets). Bootstrap
   * certificates keep the node id they were issued for; the server certificate names no trust domain.
   */
  async reissueWorkloads(): Promise<void> {
    const td = this.#o.trustDomain();
    const entries = [...this.#entries.values()].filter((e) => e.kind === 'workload' && e.identity && e.cert);
    this.#log.info('trust domain changed; re-issuing every workload certificate', { trustDomain: td, certificates: entries.length });
    for (const e of entries) if (e.identity) e.request = { ...e.request, ...workloadNames(e.identity, td) };
    // One a caller (the controller's rebuild) has re-issued meanwhile is not issued twice.
    await this.#rotateAll(entries, (e) => e.certRequest !== e.request);
  }

  /** Whether a valid workload certificate of this identity is cached (asking for it issues nothing). */
  hasWorkload(identity: Identity): boolean {
    const e = this.#entries.get(`workload:${identityKey(identity)}`);
    return e?.cert !== undefined && e.cert.notAfter.getTime() > this.#o.now();
  }

  /**
   * No proxy of this identity is connected any more: its workload certificate leaves the cache after
   * `evictUnusedAfterMs` (and is not rotated meanwhile) unless `workload` asks for it again.
   */
  release(identity: Identity): void {
    const e = this.#entries.get(`workload:${identityKey(identity)}`);
    if (!e || e.evictTimer) return;
    e.evictTimer = setTimeout(() => this.#evict(e), Math.min(this.#o.evictUnusedAfterMs, MAX_TIMER_MS));
    e.evictTimer.unref();
  }

  #evict(e: Entry): void {
    if (this.#entries.get(e.key) !== e) return;
    if (e.timer) clearTimeout(e.timer);
    if (e.evictTimer) clearTimeout(e.evictTimer);
    this.#entries.delete(e.key);
    if (e.failures > 0) this.#updateFailing();
    this.#log.debug('unused certificate evicted', { cert: e.key });
  }

  /** A proxy's xDS client certificate: DNS SAN = the full node id (too long for a CN), URI SAN = SPIFFE ID. */
  bootstrap(node: NodeIdentity): Promise<IssuedCertificate> {
    const identity: Identity = { namespace: node.namespace, serviceAccount: node.serviceAccount };
    return this.#get(`bootstrap:${formatNodeId(node)}`, 'bootstrap', identity, bootstrapNames(node));
  }

  /** The controller's own serving certificate (ADS). */
  server(dnsNames: readonly string[]): Promise<IssuedCertificate> {
    if (dnsNames.length === 0) return Promise.reject(new TrellisError(ErrorCodes.CERT_ISSUE_FAILED, 'server certificate: dnsNames must not be empty'));
    const names = [...new Set(dnsNames)].sort();
    return this.#get(`server:${names.join(',')}`, 'server', undefined, { commonName: shortCn(names[0] ?? ''), dnsNames: names, uris: [] });
  }

  /** What `/debug/certs` shows: never keys. */
  debugCerts(): CertificateDebugEntry[] {
    const out: CertificateDebugEntry[] = [];
    for (const e of this.#entries.values()) {
      if (!e.cert) continue;
      e.issuerFingerprint ??= fingerprint(e.cert.issuingCaPem);
      out.push({
        key: e.key,
        kind: e.kind,
        subject: e.request.commonName,
        ...(e.identity ? { identity: e.identity } : {}),
        serialNumber: e.cert.serialNumber,
        notBefore: e.cert.notBefore.toISOString(),
        notAfter: e.cert.notAfter.toISOString(),
        issuerId: e.issuerFingerprint,
        rotationFailing: e.failures > 0,
      });
    }
    return out.sort((a, b) => a.key.localeCompare(b.key));
  }

  /** Polls the provider's trust bundle; a changed issuer or root set re-issues every cached certificate. */
  checkTrustBundle(): Promise<void> {
    this.#polling ??= this.#checkTrustBundle().finally(() => {
      this.#polling = undefined;
    });
    return this.#polling;
  }

  async #checkTrustBundle(): Promise<void> {
    let key: string;
    try {
      const b = await this.#o.provider.trustBundle();
      key = `${b.issuerId}|${b.roots.map(fingerprint).join(',')}`;
    } catch (err) {
      this.#log.warn('trust bundle unavailable', { error: errorText(err) });
      return;
    }
    const previous = this.#bundleKey;
    this.#bundleKey = key;
    if (previous === undefined || previous === key) return;
    this.#log.info('issuer or trust bundle changed; re-issuing every certificate', { certificates: this.#entries.size });
    await this.#rotateAll([...this.#entries.values()].filter((e) => e.cert));
  }

  async #rotateAll(entries: readonly Entry[], stillDue: (e: Entry) => boolean = () => true): Promise<void> {
    // Bounded concurrency so a root or trust-domain change does not queue thousands of issuances at once
    // (#rotate never throws).
    await mapConcurrent(entries, REISSUE_CONCURRENCY, async (e) => {
      if (stillDue(e)) await this.#rotate(e);
    });
  }

  #get(key: string, kind: CertificateKind, identity: Identity | undefined, names: Pick<CertificateRequest, 'commonName' | 'dnsNames' | 'uris'>): Promise<IssuedCertificate> {
    let e = this.#entries.get(key);
    if (e?.evictTimer) {
      clearTimeout(e.evictTimer);
      e.evictTimer = undefined;
    }
    if (!e) {
      e = { key, kind, ...(identity ? { identity } : {}), request: { ...names, validityMs: this.#o.validityMs, keyType: this.#o.keyType }, failures: 0 };
      this.#entries.set(key, e);
    } else if (!sameNames(e.request, names)) e.request = { ...e.request, ...names }; // the trust domain changed
    if (e.cert && e.cert.notAfter.getTime() > this.#o.now() && e.certRequest === e.request) return Promise.resolve(e.cert);
    return this.#issue(e);
  }

  /** One issuance per entry at a time; callers arriving meanwhile share it. */
  #issue(e: Entry): Promise<IssuedCertificate> {
    e.inflight ??= (async () => {
      const started = performance.now();
      try {
        let asked: CertificateRequest;
        let cert: IssuedCertificate;
        // The names may change while an issuance is in flight (a trust-domain change): issue again for them.
        do {
          asked = e.request;
          cert = await this.#o.provider.issue(e.kind === 'workload' ? { ...asked, validityMs: this.#o.workloadValidityMs() } : asked);
        } while (asked !== e.request);
        this.#duration.observe((performance.now() - started) / 1000, { kind: e.kind });
        this.#issued.inc({ kind: e.kind });
        e.cert = cert;
        e.certRequest = asked;
        e.issuerFingerprint = undefined;
        this.#schedule(e, this.#renewDelay(cert));
        return cert;
      } catch (err) {
        this.#errors.inc({ kind: e.kind });
        if (!e.cert) this.#entries.delete(e.key); // nothing cached: the next caller retries
        throw err instanceof TrellisError ? err : new TrellisError(ErrorCodes.CERT_ISSUE_FAILED, `issuing the ${e.kind} certificate ${e.key}: ${errorText(err)}`, { cause: err });
      } finally {
        e.inflight = undefined;
      }
    })();
    return e.inflight;
  }

  async #rotate(e: Entry): Promise<void> {
    if (!this.#running || this.#entries.get(e.key) !== e) return;
    if (e.evictTimer) return this.#evict(e); // unused: not worth a CA call
    const old = e.cert;
    try {
      const cert = await this.#issue(e);
      if (old && cert.serialNumber === old.serialNumber) return;
      this.#rotations.inc({ kind: e.kind });
      if (e.failures > 0) this.#log.info('certificate rotation recovered', { cert: e.key, failures: e.failures });
      e.failures = 0;
      this.#updateFailing();
      this.#log.debug('certificate rotated', { cert: e.key, serial: cert.serialNumber, notAfter: cert.notAfter.toISOString() });
      await this.#o.bus.publish(certificateRotated, {
        ...(e.identity ? { identity: e.identity } : {}),
        kind: e.kind,
        key: e.key,
        serialNumber: cert.serialNumber,
        notAfter: cert.notAfter,
      });
    } catch (err) {
      e.failures++;
      this.#updateFailing();
      const delay = backoffDelay(e.failures, { baseMs: this.#o.retryBase, maxMs: this.#o.retryMax, random: this.#o.random });
      this.#log.warn('certificate rotation failed; the current certificate keeps serving', {
        cert: e.key,
        failures: e.failures,
        notAfter: old?.notAfter.toISOString(),
        retryInMs: Math.round(delay),
        error: errorText(err),
      });
      if (old) e.cert = old;
      this.#schedule(e, delay);
    }
  }

  #renewDelay(cert: IssuedCertificate): number {
    const start = cert.notBefore.getTime();
    const end = cert.notAfter.getTime();
    const validity = Math.max(0, end - start);
    const lead = validity * (this.#o.renewBefore + this.#o.jitter * this.#o.random());
    const now = this.#o.now();
    // Floor: a certificate already past its renewal point (X.509's whole seconds can eat a short validity)
    // must not re-issue in a tight loop.
    return Math.max(end - lead - now, Math.min(1_000, Math.max(0, (end - now) / 2)));
  }

  #schedule(e: Entry, delayMs: number): void {
    if (e.timer) clearTimeout(e.timer);
    e.timer = undefined;
    if (!this.#running) return;
    e.timer = setTimeout(() => {
      e.timer = undefined;
      void this.#rotate(e);
    }, Math.min(delayMs, MAX_TIMER_MS));
    e.timer.unref();
  }

  #updateFailing(): void {
    let n = 0;
    for (const e of this.#entries.values()) if (e.failures > 0) n++;
    this.#failing.set(n);
  }
}

function sameNames(a: Pick<CertificateRequest, 'commonName' | 'dnsNames' | 'uris'>, b: Pick<CertificateRequest, 'commonName' | 'dnsNames' | 'uris'>): boolean {
  return a.commonName === b.commonName && a.dnsNames.join(',') === b.dnsNames.join(',') && a.uris.join(',') === b.uris.join(',');
}

function fingerprint(pem: string): string {
  try {
    return new X509Certificate(pem).fingerprint256.replace(/:/g, '').toLowerCase();
  } catch {
    return 'unparseable';
  }
}

/** Error text for logs: the message only (a provider error never carries a key; SecretValue guards the rest). */
function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function constant<T>(v: T): () => T {
  return () => v;
}
