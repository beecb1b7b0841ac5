import { X509Certificate } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import certManager, { createCertManagerProvider, kubeApis, type CertManagerOptions } from '@trellis/plugin-certs-cert-manager';
import { MemoryLogger, runPluginConformance } from '@trellis/plugin-sdk/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeApiServer } from '../support/fake-apiserver/index.ts';
import { FakeCertManager } from '../support/fake-cert-manager.ts';
import { GrpcTestMesh } from '../support/grpc-controller.ts';
import { loadGrpcXds } from '../support/grpc-workloads.ts';

/** `use: cert-manager` against the fake API server and the fake cert-manager signer (a stand-in, real CA). */

const NS = 'trellis-system';
let api: FakeApiServer;
let kubeconfig: string;
let auto: FakeCertManager;
let manual: FakeCertManager;
let policy: FakeCertManager;

beforeAll(async () => {
  api = await FakeApiServer.start();
  api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  kubeconfig = join(await mkdtemp(join(tmpdir(), 'trellis-cert-manager-')), 'kubeconfig');
  await api.kubeconfig(kubeconfig);
  auto = await FakeCertManager.start(api, { namespace: NS, issuer: 'mesh' });
  manual = await FakeCertManager.start(api, { namespace: NS, issuer: 'manual', approver: 'none' });
  policy = await FakeCertManager.start(api, {
    namespace: NS,
    issuer: 'policy',
    deny: (cr) => ((cr.metadata.annotations as Record<string, string> | undefined)?.['trellis.io/common-name']?.startsWith('evil') ? 'CN evil.* is not allowed by policy mesh-only' : undefined),
    fail: (cr) => ((cr.spec as { duration?: string }).duration === '7200s' ? 'issuer mesh: duration 2h exceeds the issuer maximum of 1h' : undefined),
  });
});
afterAll(async () => {
  for (const c of [auto, manual, policy]) c.stop();
  await api.stop();
});

const provider = (over: Partial<CertManagerOptions> = {}, issuer = 'mesh') =>
  createCertManagerProvider({
    apis: kubeApis({ kubeconfig }),
    namespace: NS,
    issuerRef: { name: issuer, kind: 'Issuer', group: 'cert-manager.io' },
    usages: ['digital signature', 'key encipherment', 'server auth', 'client auth'],
    approve: false,
    timeoutMs: 10_000,
    pollMs: 20,
    trust: { kind: 'Secret', namespace: NS, name: `${issuer}-ca`, key: 'ca.crt' },
    logger: new MemoryLogger(),
    ...over,
  });
const req = (cn = 'bookstore.bookstore.cluster.local', validityMs = 3600_000) => ({
  commonName: cn,
  dnsNames: [cn],
  uris: ['spiffe://cluster.local/ns/bookstore/sa/bookstore'],
  validityMs,
  keyType: 'ecdsa-p256' as const,
});
const requests = () => api.objects('cert-manager.io/v1', 'CertificateRequest');

describe('use: cert-manager', () => {
  it('passes the SDK conformance kit for certificate providers', async () => {
    const report = await runPluginConformance(certManager, {
      config: { namespace: NS, issuerRef: { name: 'mesh' }, trustBundle: { secret: { name: 'mesh-ca' } }, kubeconfig, pollInterval: '20ms' },
    });
    expect(report.steps).toEqual(['config', 'create', 'start', 'ready', 'issue', 'stop', 'stop again']);
  });

  it('issues through a CertificateRequest: issuerRef, duration, usages; the leaf verifies with the bundle', async () => {
    const p = provider({ deleteRequests: false });
    await p.start?.();
    expect(p.readiness?.()).toEqual({ ready: true });
    const before = new Set(requests().map((r) => r.metadata.name));
    const c = await p.issue(req('bookstore.bookstore.cluster.local', 5400_000));
    const cr = requests().find((r) => !before.has(r.metadata.name));
    expect(cr?.spec).toMatchObject({ issuerRef: { name: 'mesh', kind: 'Issuer', group: 'cert-manager.io' }, duration: '5400s', usages: ['digital signature', 'key encipherment', 'server auth', 'client auth'], isCA: false });
    expect(auto.signed.has(cr!.metadata.name)).toBe(true);
    const leaf = new X509Certificate(c.certificatePem);
    expect(leaf.verify(new X509Certificate(auto.caPem).publicKey)).toBe(true);
    expect(leaf.subjectAltName).toContain('URI:spiffe://cluster.local/ns/bookstore/sa/bookstore');
    expect(leaf.subjectAltName).toContain('DNS:bookstore.bookstore.cluster.local');
    expect(c.notAfter.getTime() - c.notBefore.getTime()).toBe(5400_000);
    expect(c.trustBundlePem).toBe(new X509Certificate(auto.caPem).toString());
    expect(c.issuingCaPem).toBe(new X509Certificate(auto.caPem).toString());
    expect(leaf.checkPrivateKey((await import('node:crypto')).createPrivateKey(c.privateKey.reveal()))).toBe(true);
    expect(JSON.stringify(c)).not.toContain('PRIVATE KEY');
  });

  it('deletes each CertificateRequest once its outcome is read', async () => {
    const p = provider();
    await p.start?.();
    const before = requests().length;
    await p.issue(req());
    expect(requests().length).toBe(before);
  });

  it('waits for an approver; with approve: true it sets the Approved condition itself', async () => {
    const waiting = provider({ timeoutMs: 600 }, 'manual');
    await waiting.start?.();
    await expect(waiting.issue(req())).rejects.toThrow(/not Ready after 600 ms: Ready=False \(Pending: .*not approved/);
    const approving = provider({ approve: true, deleteRequests: false }, 'manual');
    await approving.start?.();
    const c = await approving.issue(req());
    expect(new X509Certificate(c.certificatePem).verify(new X509Certificate(manual.caPem).publicKey)).toBe(true);
    const approved = requests().find((r) => manual.signed.has(r.metadata.name));
    expect((approved?.status as { conditions: { type: string; reason: string }[] }).conditions).toContainEqual(expect.objectContaining({ type: 'Approved', status: 'True', reason: 'trellis.io' }));
  });

  it('waits by watching the one request, not by polling it', async () => {
    const p = provider({ timeoutMs: 600, pollMs: 20 }, 'manual');
    await p.start?.();
    const from = api.requests.length;
    await expect(p.issue(req())).rejects.toThrow(/not Ready after 600 ms/);
    const sent = api.requests.slice(from).filter((r) => r.path.includes('/certificaterequests'));
    const watches = sent.filter((r) => r.path.includes('watch=true'));
    const named = /fieldSelector=metadata.name(%3D|=)(trellis-[a-z0-9]+)/.exec(watches[0]?.path ?? '')?.[2];
    expect(named).toBeDefined();
    // Polling every 20 ms for 600 ms would be ~30 GETs of the request; a watch needs none.
    const gets = sent.filter((r) => r.method === 'GET' && !r.path.includes('watch=true') && r.path.split('?')[0]!.endsWith(`/${named!}`));
    expect(gets.length).toBeLessThanOrEqual(1);
  });

  it('reports Denied and Failed with their reasons', async () => {
    const p = provider({}, 'policy');
    await p.start?.();
    await expect(p.issue(req('evil.bookstore.cluster.local'))).rejects.toThrow(/certificaterequest trellis-system\/trellis-\w+ was denied: policy.cert-manager.io: CN evil.\* is not allowed by policy mesh-only/);
    await expect(p.issue(req('ok.bookstore.cluster.local', 7200_000))).rejects.toThrow(/failed: Failed: issuer mesh: duration 2h exceeds the issuer maximum of 1h/);
    expect((await p.issue(req('ok.bookstore.cluster.local'))).certificatePem).toContain('BEGIN CERTIFICATE');
  });

  it('times out on an issuer that never signs, saying what state the request is in', async () => {
    auto.opts.stalled = true;
    try {
      const p = provider({ timeoutMs: 500 });
      await p.start?.();
      await expect(p.issue(req())).rejects.toThrow(/not Ready after 500 ms: approved, not signed/);
    } finally {
      auto.opts.stalled = false;
    }
  });

  it('trust bundle from a ConfigMap; a missing key is not ready with the reason', async () => {
    const p = provider({ trust: { kind: 'ConfigMap', namespace: NS, name: 'mesh-bundle', key: 'ca.crt' } });
    await p.start?.();
    expect((await p.trustBundle()).roots).toEqual([new X509Certificate(auto.caPem).toString()]);
    const missing = provider({ trust: { kind: 'ConfigMap', namespace: NS, name: 'mesh-bundle', key: 'root.pem' } });
    await missing.start?.();
    expect(missing.readiness?.()).toEqual({ ready: false, reason: 'cert-manager: trust bundle ConfigMap trellis-system/mesh-bundle key root.pem: the key is missing' });
    const absent = provider({ trust: { kind: 'Secret', namespace: NS, name: 'nope', key: 'ca.crt' } });
    await absent.start?.();
    expect(absent.readiness?.()).toMatchObject({ ready: false, reason: expect.stringMatching(/Secret trellis-system\/nope key ca.crt: 404/) });
  });

  it('sign(): a CSR asking for other names than decided is refused; a matching one is signed', async () => {
    const { webcrypto } = await import('node:crypto');
    const x509 = await import('@peculiar/x509');
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
    const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
    const csrFor = async (dns: string) =>
      (await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=w', keys, signingAlgorithm: alg, extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: dns }])] })).toString('pem');
    const p = provider();
    await p.start?.();
    const base = { commonName: 'w', dnsNames: ['w.ns.cluster.local'], uris: [], validityMs: 3600_000, publicKeyDer: new Uint8Array() };
    await expect(p.sign!({ ...base, csrPem: await csrFor('other.ns.cluster.local') })).rejects.toThrow(/the CSR asks for .*other.ns.cluster.local.*, not the decided names/);
    const s = await p.sign!({ ...base, csrPem: await csrFor('w.ns.cluster.local') });
    expect(new X509Certificate(s.certificatePem).subjectAltName).toBe('DNS:w.ns.cluster.local');
  });

  it('a controller with use: cert-manager issues workload certificates from the issuer and is ready', async () => {
    await loadGrpcXds();
    const before = auto.signed.size;
    const ctl = await GrpcTestMesh.start({
      certificates: { definition: certManager, config: { namespace: NS, issuerRef: { name: 'mesh' }, trustBundle: { configMap: { name: 'mesh-bundle' } }, kubeconfig, pollInterval: '20ms' } },
    });
    try {
      expect(ctl.mesh.ready()).toBe(true);
      const c = await ctl.certificate({ namespace: 'bookbuyer', serviceAccount: 'bookbuyer' });
      const leaf = new X509Certificate(c.certificatePem);
      expect(leaf.verify(new X509Certificate(auto.caPem).publicKey)).toBe(true);
      expect(leaf.subjectAltName).toContain('URI:spiffe://cluster.local/ns/bookbuyer/sa/bookbuyer');
      expect(auto.signed.size).toBeGreaterThan(before);
    } finally {
      await ctl.stop();
    }
  });
});
