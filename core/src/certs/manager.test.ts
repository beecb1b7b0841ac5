import { describe, expect, it, vi, afterEach } from 'vitest';
import { ErrorCodes, SecretValue, TrellisError, type CertificateRequest, type CertificatesPlugin, type IssuedCertificate, type LogFields, type Logger } from '@trellis/plugin-sdk';
import { Bus } from '../bus/bus.ts';
import { MetricsRegistry } from '../metrics/registry.ts';
import { CertificateManager, certificateRotated } from './index.ts';
import type { CertificateRotated } from './topics.ts';

const KEY = '-----BEGIN PRIVATE KEY-----\nTOP-SECRET-KEY-MATERIAL\n-----END PRIVATE KEY-----\n';

function captureLogger(lines: string[] = [], base: LogFields = {}): Logger {
  const w = (level: string) => (msg: string, fields?: LogFields) => lines.push(JSON.stringify({ level, msg, ...base, ...fields }));
  return { debug: w('debug'), info: w('info'), warn: w('warn'), error: w('error'), child: (f) => captureLogger(lines, { ...base, ...f }) };
}

/** A provider under the test's control: counts issuances, can fail, has a switchable issuer. */
class FakeProvider implements CertificatesPlugin {
  issued: CertificateRequest[] = [];
  failing = false;
  issuerId = 'ca-1';
  now = (): number => Date.now();
  gate: Promise<void> | undefined;
  serial = 0;
  async issue(req: CertificateRequest): Promise<IssuedCertificate> {
    this.issued.push(req);
    if (this.gate) await this.gate;
    if (this.failing) throw new TrellisError(ErrorCodes.CERT_PROVIDER_UNAVAILABLE, 'fake: provider down');
    const notBefore = new Date(this.now());
    return {
      certificatePem: `cert-${++this.serial}`,
      chainPem: `cert-${this.serial}`,
      privateKey: new SecretValue(KEY),
      issuingCaPem: this.issuerId,
      trustBundlePem: this.issuerId,
      serialNumber: String(this.serial),
      notBefore,
      notAfter: new Date(notBefore.getTime() + req.validityMs),
    };
  }
  async trustBundle() {
    if (this.failing) throw new Error('down');
    return { roots: [], issuerId: this.issuerId };
  }
  readiness() {
    return this.failing ? { ready: false, reason: 'fake down' } : { ready: true };
  }
}

function setup(opts: { validityMs?: number; trustDomain?: () => string; evictUnusedAfterMs?: number } = {}) {
  const lines: string[] = [];
  const logger = captureLogger(lines);
  const metrics = new MetricsRegistry();
  const bus = new Bus(logger, metrics);
  const provider = new FakeProvider();
  const events: CertificateRotated[] = [];
  bus.subscribe(certificateRotated, (e) => void events.push(e));
  const manager = new CertificateManager({
    provider,
    bus,
    logger,
    metrics,
    trustDomain: opts.trustDomain ?? 'cluster.local',
    validityMs: opts.validityMs ?? 10_000,
    renewBefore: 0.2,
    jitter: 0,
    bundlePollMs: 0,
    retry: { baseDelayMs: 100, maxDelayMs: 400 },
    ...(opts.evictUnusedAfterMs === undefined ? {} : { evictUnusedAfterMs: opts.evictUnusedAfterMs }),
  });
  return { lines, metrics, provider, events, manager };
}

const metric = async (m: MetricsRegistry, line: string): Promise<number | undefined> => {
  const hit = (await m.exposition()).split('\n').find((l) => l.startsWith(`${line} `));
  return hit === undefined ? undefined : Number(hit.split(' ').pop());
};

afterEach(() => {
  vi.useRealTimers();
});

describe('CertificateManager', () => {
  const id = { namespace: 'bookstore', serviceAccount: 'bookbuyer' };

  it('issues workload certificates with the OSM name and SPIFFE id, cached', async () => {
    const { manager, provider, metrics } = setup();
    await manager.start();
    const a = await manager.workload(id);
    const b = await manager.workload(id);
    expect(a).toBe(b);
    expect(provider.issued).toEqual([
      { commonName: 'bookbuyer.bookstore.cluster.local', dnsNames: ['bookbuyer.bookstore.cluster.local'], uris: ['spiffe://cluster.local/ns/bookstore/sa/bookbuyer'], validityMs: 10_000, keyType: 'ecdsa-p256' },
    ]);
    expect(await metric(metrics, 'trellis_certificates_issued_total{kind="workload"}')).toBe(1);
    manager.stop();
    manager.stop();
  });

  it('coalesces concurrent requests for one identity into one issuance', async () => {
    const { manager, provider } = setup();
    let open!: () => void;
    provider.gate = new Promise((r) => (open = r));
    const all = Array.from({ length: 20 }, () => manager.workload(id));
    open();
    const certs = await Promise.all(all);
    expect(provider.issued).toHaveLength(1);
    expect(new Set(certs).size).toBe(1);
  });

  it('bootstrap certificates carry the full node id as DNS SAN with a short CN', async () => {
    const { manager, provider } = setup();
    const node = { uuid: '0f7e3c1a-2b4d-4e6f-8a9b-123456789abc', kind: 'sidecar', namespace: 'bookstore-very-long-namespace', serviceAccount: 'bookbuyer-service-account', trustDomain: 'cluster.local' };
    await manager.bootstrap(node);
    const req = provider.issued[0]!;
    expect(req.dnsNames).toEqual([`${node.uuid}.sidecar.bookbuyer-service-account.bookstore-very-long-namespace.cluster.local`]);
    expect(req.uris).toEqual(['spiffe://cluster.local/ns/bookstore-very-long-namespace/sa/bookbuyer-service-account']);
    expect(req.commonName.length).toBeLessThanOrEqual(64);
    expect(req.commonName).toBe(node.uuid);
  });

  it('server certificates take the DNS names, deduplicated', async () => {
    const { manager, provider } = setup();
    await manager.server(['trellis.trellis-system.svc', 'localhost', 'localhost']);
    expect(provider.issued[0]).toMatchObject({ commonName: 'localhost', dnsNames: ['localhost', 'trellis.trellis-system.svc'], uris: [] });
    await expect(manager.server([])).rejects.toThrow(/dnsNames must not be empty/);
  });

  it('rotates before expiry and publishes certificateRotated', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const { manager, provider, events, metrics } = setup({ validityMs: 10_000 });
    await manager.start();
    const first = await manager.workload(id);
    await vi.advanceTimersByTimeAsync(7_900);
    expect(provider.issued).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(200); // 80% of the validity
    expect(provider.issued).toHaveLength(2);
    const second = await manager.workload(id);
    expect(second.serialNumber).not.toBe(first.serialNumber);
    expect(events).toEqual([{ identity: id, kind: 'workload', key: 'workload:bookstore/bookbuyer', serialNumber: second.serialNumber, notAfter: second.notAfter }]);
    expect(await metric(metrics, 'trellis_certificates_rotations_total{kind="workload"}')).toBe(1);
    manager.stop();
  });

  it('keeps the current certificate, retries with backoff and raises the alert when rotation fails', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const { manager, provider, metrics, events, lines } = setup({ validityMs: 10_000 });
    await manager.start();
    const first = await manager.workload(id);
    provider.failing = true;
    await vi.advanceTimersByTimeAsync(8_000);
    expect(await manager.workload(id)).toBe(first); // still valid: keeps serving
    expect(await metric(metrics, 'trellis_certificates_rotation_failing')).toBe(1);
    const attempts = provider.issued.length;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(provider.issued.length).toBeGreaterThan(attempts); // retried
    expect(manager.debugCerts()[0]).toMatchObject({ serialNumber: first.serialNumber, rotationFailing: true });
    provider.failing = false;
    await vi.advanceTimersByTimeAsync(500);
    expect(await metric(metrics, 'trellis_certificates_rotation_failing')).toBe(0);
    expect((await manager.workload(id)).serialNumber).not.toBe(first.serialNumber);
    expect(events).toHaveLength(1);
    expect(await metric(metrics, 'trellis_certificates_errors_total{kind="workload"}')).toBeGreaterThan(0);
    expect(lines.some((l) => l.includes('rotation failed'))).toBe(true);
    manager.stop();
  });

  it('re-issues every certificate when the issuer changes', async () => {
    const { manager, provider, events } = setup();
    await manager.start();
    await manager.workload(id);
    await manager.workload({ namespace: 'bookstore', serviceAccount: 'bookstore' });
    await manager.checkTrustBundle();
    expect(provider.issued).toHaveLength(2);
    provider.issuerId = 'ca-2';
    await manager.checkTrustBundle();
    expect(provider.issued).toHaveLength(4);
    expect(events.map((e) => e.key).sort()).toEqual(['workload:bookstore/bookbuyer', 'workload:bookstore/bookstore']);
    expect(manager.debugCerts().every((d) => d.issuerId !== undefined)).toBe(true);
    manager.stop();
  });

  it('follows a trust-domain change: re-issues every workload certificate for the new domain, not bootstrap ones', async () => {
    let td = 'example.org';
    const { manager, provider, events } = setup({ trustDomain: () => td });
    await manager.start();
    const store = { namespace: 'bookstore', serviceAccount: 'bookstore' };
    const first = await manager.workload(id);
    await manager.workload(store);
    await manager.bootstrap({ uuid: '0f7e3c1a-2b4d-4e6f-8a9b-123456789abc', kind: 'sidecar', ...id, trustDomain: 'example.org' });
    expect(provider.issued[0]).toMatchObject({ dnsNames: ['bookbuyer.bookstore.example.org'], uris: ['spiffe://example.org/ns/bookstore/sa/bookbuyer'] });
    td = 'cluster.local';
    // Even before the re-issue, a caller never gets a certificate for the old domain.
    const second = await manager.workload(id);
    expect(second.serialNumber).not.toBe(first.serialNumber);
    expect(provider.issued.at(-1)).toMatchObject({ commonName: 'bookbuyer.bookstore.cluster.local', uris: ['spiffe://cluster.local/ns/bookstore/sa/bookbuyer'] });
    const before = provider.issued.length;
    await manager.reissueWorkloads();
    const again = provider.issued.slice(before);
    expect(again.map((r) => r.uris[0])).toEqual(['spiffe://cluster.local/ns/bookstore/sa/bookbuyer', 'spiffe://cluster.local/ns/bookstore/sa/bookstore']);
    expect(events.map((e) => e.key)).toEqual(['workload:bookstore/bookbuyer', 'workload:bookstore/bookstore']);
    expect((await manager.workload(store)).serialNumber).toBe(events[1]?.serialNumber);
    manager.stop();
  });

  it('a trust-domain change during an issuance issues again for the new names', async () => {
    let td = 'example.org';
    const { manager, provider } = setup({ trustDomain: () => td });
    let release!: () => void;
    provider.gate = new Promise((r) => (release = r));
    const pending = manager.workload(id);
    td = 'cluster.local';
    const racing = manager.workload(id);
    provider.gate = undefined;
    release();
    const [a, b] = await Promise.all([pending, racing]);
    expect(a).toBe(b);
    expect(provider.issued.map((r) => r.uris[0])).toEqual(['spiffe://example.org/ns/bookstore/sa/bookbuyer', 'spiffe://cluster.local/ns/bookstore/sa/bookbuyer']);
  });

  it('evicts a released workload certificate after evictUnusedAfterMs, unless asked for again first', async () => {
    vi.useFakeTimers();
    const { manager, provider } = setup({ evictUnusedAfterMs: 1000, validityMs: 3_600_000 });
    await manager.start();
    const a = { namespace: 'shop', serviceAccount: 'a' };
    const b = { namespace: 'shop', serviceAccount: 'b' };
    await manager.workload(a);
    await manager.workload(b);
    manager.release(a);
    manager.release(b);
    vi.advanceTimersByTime(500);
    await manager.workload(b); // back in use: stays
    vi.advanceTimersByTime(600);
    expect([manager.hasWorkload(a), manager.hasWorkload(b)]).toEqual([false, true]);
    expect(manager.debugCerts().map((c) => c.key)).toEqual(['workload:shop/b']);
    await manager.workload(a);
    expect(provider.issued).toHaveLength(3);
    manager.stop();
  });

  it('stop clears timers: no rotation after stop', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const { manager, provider } = setup({ validityMs: 10_000 });
    await manager.start();
    await manager.workload(id);
    manager.stop();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(provider.issued).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('reflects provider readiness and surfaces issuance errors', async () => {
    const { manager, provider, metrics } = setup();
    provider.failing = true;
    expect(manager.readiness()).toEqual({ ready: false, reason: 'fake down' });
    await expect(manager.workload(id)).rejects.toMatchObject({ code: ErrorCodes.CERT_PROVIDER_UNAVAILABLE });
    expect(await metric(metrics, 'trellis_certificates_errors_total{kind="workload"}')).toBe(1);
    provider.failing = false;
    expect(manager.readiness()).toEqual({ ready: true });
    await expect(manager.workload(id)).resolves.toBeDefined(); // a failed first issuance is not cached
  });

  it('never shows private keys in debugCerts or logs', async () => {
    const { manager, provider, lines } = setup();
    await manager.start();
    await manager.workload(id);
    provider.failing = true;
    await manager.workload({ namespace: 'x', serviceAccount: 'y' }).catch(() => undefined);
    const debug = JSON.stringify(manager.debugCerts());
    expect(debug).toContain('bookbuyer.bookstore.cluster.local');
    expect(debug).not.toContain('TOP-SECRET');
    expect(lines.join('\n')).not.toContain('TOP-SECRET');
    manager.stop();
  });
});
