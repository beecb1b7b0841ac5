import type { AddressInfo } from 'node:net';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSelfSignedProvider } from '@trellis/plugin-certs-selfsigned';
import type { IssuedCertificate } from '@trellis/plugin-sdk';
import { Bus, MetricsRegistry } from '@trellis/core';
import { CertificateManager, certificateRotated } from '@trellis/core';
import { captureLogger, tempDir } from './helpers.ts';

const stops: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

const tlsOptions = (c: IssuedCertificate) => ({ key: c.privateKey.reveal(), cert: c.chainPem, ca: c.trustBundlePem });

/** One mTLS round trip: connect, send, read the echo. Rejects on any handshake or verification failure. */
function roundTrip(port: number, client: IssuedCertificate, payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port, servername: 'trellis.trellis-system.svc', ...tlsOptions(client) }, () => sock.end(payload));
    let got = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => (got += d));
    sock.on('end', () => resolve(got));
    sock.on('error', reject);
  });
}

describe('root rotation with traffic flowing', () => {
  it('keeps mTLS traffic flowing across several expiry rotations with validity in seconds', async () => {
    const t = await tempDir();
    stops.push(t.cleanup);
    const logger = captureLogger();
    const metrics = new MetricsRegistry();
    const bus = new Bus(logger, metrics);
    const provider = createSelfSignedProvider({ stateDir: join(t.dir, 'ca'), caValidityMs: 3_600_000, keyType: 'ecdsa-p256', commonName: 'Trellis Root CA', createRoot: true });
    const manager = new CertificateManager({ provider, bus, logger, metrics, trustDomain: 'cluster.local', validityMs: 2_000, renewBefore: 0.5, jitter: 0.1, bundlePollMs: 0 });
    await manager.start();
    stops.push(() => manager.stop());
    const serverDns = ['trellis.trellis-system.svc'];
    const id = { namespace: 'bookstore', serviceAccount: 'bookbuyer' };
    const server = createServer({ ...tlsOptions(await manager.server(serverDns)), requestCert: true, rejectUnauthorized: true }, (s: TLSSocket) => {
      s.on('data', (d) => s.write(d));
      s.on('end', () => s.end());
      s.on('error', () => undefined);
    });
    bus.subscribe(certificateRotated, async (e) => {
      if (e.kind === 'server') server.setSecureContext(tlsOptions(await manager.server(serverDns)));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    stops.push(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as AddressInfo).port;
    const serials = new Set<string>();
    const failures: string[] = [];
    const until = Date.now() + 4_500;
    let ok = 0;
    while (Date.now() < until) {
      try {
        const client = await manager.workload(id);
        serials.add(client.serialNumber);
        expect(await roundTrip(port, client, `ping-${ok}`)).toBe(`ping-${ok}`);
        ok++;
      } catch (err) {
        failures.push((err as Error).message);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(failures).toEqual([]);
    expect(serials.size).toBeGreaterThanOrEqual(3); // rotated at least twice while traffic flowed
    expect(ok).toBeGreaterThan(20);
  });

  it('moves every certificate to a new root with no failed connection', async () => {
    const t = await tempDir();
    stops.push(t.cleanup);
    const logger = captureLogger();
    const metrics = new MetricsRegistry();
    const bus = new Bus(logger, metrics);
    const provider = createSelfSignedProvider({ stateDir: join(t.dir, 'ca'), caValidityMs: 3_600_000, keyType: 'ecdsa-p256', commonName: 'Trellis Root CA', logger, createRoot: true });
    await provider.start?.();
    const manager = new CertificateManager({ provider, bus, logger, metrics, trustDomain: 'cluster.local', validityMs: 600_000, bundlePollMs: 0 });
    await manager.start();
    stops.push(() => manager.stop());

    const serverDns = ['trellis.trellis-system.svc'];
    const id = { namespace: 'bookstore', serviceAccount: 'bookbuyer' };
    let serverCert = await manager.server(serverDns);
    const server = createServer({ ...tlsOptions(serverCert), requestCert: true, rejectUnauthorized: true }, (s: TLSSocket) => {
      s.on('data', (d) => s.write(d));
      s.on('end', () => s.end());
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    stops.push(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as AddressInfo).port;
    // A rotation event becomes a new serving context (what SDS does for Envoy).
    bus.subscribe(certificateRotated, async (e) => {
      if (e.kind !== 'server') return;
      serverCert = await manager.server(serverDns);
      server.setSecureContext(tlsOptions(serverCert));
    });

    // Traffic: back-to-back connections with whatever certificate the manager holds now.
    let ok = 0;
    const failures: string[] = [];
    let running = true;
    const traffic = (async () => {
      while (running) {
        const payload = `ping-${ok}`;
        try {
          const client = await manager.workload(id);
          expect(await roundTrip(port, client, payload)).toBe(payload);
          ok++;
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    })();
    const waitTraffic = async (n: number) => {
      const target = ok + n;
      while (ok < target && failures.length === 0) await new Promise((r) => setTimeout(r, 5));
    };

    await waitTraffic(5);
    const oldRoot = (await provider.trustBundle()).roots[0]!;
    const oldClient = await manager.workload(id);

    // 1. prepare: both roots trusted, the old one still issues.
    await provider.rotateRoot('prepare');
    await manager.checkTrustBundle();
    await waitTraffic(5);
    const preparedClient = await manager.workload(id);
    expect(preparedClient.issuingCaPem).toBe(oldRoot);
    expect(preparedClient.trustBundlePem).toContain(oldRoot);
    expect(preparedClient.serialNumber).not.toBe(oldClient.serialNumber);

    const preparedServer = serverCert;
    expect(preparedServer.issuingCaPem).toBe(oldRoot);

    // 2. promote: the new root issues; every certificate is re-issued by it.
    const promoted = await provider.rotateRoot('promote');
    const newRoot = promoted.roots[0]!;
    await manager.checkTrustBundle();
    await waitTraffic(5);
    expect(serverCert.issuingCaPem).toBe(newRoot);
    // The mixed states a fleet passes through: old-CA client against new-CA server, and the reverse.
    expect(await roundTrip(port, preparedClient, 'old-client-new-server')).toBe('old-client-new-server');
    const newClient = await manager.workload(id);
    expect(newClient.issuingCaPem).toBe(newRoot);
    server.setSecureContext(tlsOptions(preparedServer)); // a server still on its old-CA leaf
    expect(await roundTrip(port, newClient, 'new-client-old-server')).toBe('new-client-old-server');
    server.setSecureContext(tlsOptions(serverCert));

    // 3. retire: only the new root is trusted; old-CA leaves are gone.
    const retired = await provider.rotateRoot('retire');
    expect(retired.roots).toEqual([newRoot]);
    await manager.checkTrustBundle();
    await waitTraffic(5);
    expect((await manager.workload(id)).trustBundlePem).toBe(newRoot);
    // An old-CA leaf is no longer accepted (TLS 1.3 reports it as an alert or a closed stream without data).
    expect(await roundTrip(port, preparedClient, 'x').catch(() => 'rejected')).not.toBe('x');

    running = false;
    await traffic;
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThanOrEqual(20);
    expect(manager.debugCerts().map((d) => d.issuerId)).toEqual(Array(2).fill(promoted.issuerId));
  });
});
