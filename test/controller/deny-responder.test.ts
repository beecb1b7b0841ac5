import { connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { DenyResponder, MAX_REASON, encodeGrpcMessage, type DenyCaller } from '@trellis/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestCa, type TestCa } from '../support/pki.ts';

/**
 * The deny responder over the real gRPC wire with a real grpc-js client: any service and method gets
 * PERMISSION_DENIED with the reason; the caller is its verified certificate's SPIFFE ID, never a header;
 * hostile bytes, a failing reason and the rate limit never take it down or leave a call unanswered.
 */
let ca: TestCa;
let other: TestCa;
let responder: DenyResponder;
let address: string;
const seen: { caller: DenyCaller; authority: string; path: string }[] = [];
let reason: (c: DenyCaller, authority: string, path: string) => string = (c, authority, path) =>
  c.identity ? `denied: ${c.identity.namespace}/${c.identity.serviceAccount} (${c.trustDomain}) -> ${authority}${path}` : `denied: ${c.why}`;

const call = (client: grpc.Client, path: string, md = new grpc.Metadata()): Promise<grpc.ServiceError> =>
  new Promise((resolve, reject) =>
    client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, Buffer.from('x'), md, { deadline: Date.now() + 10_000 }, (err) =>
      err ? resolve(err) : reject(new Error('the call succeeded')),
    ),
  );
const tlsClient = (pem: { certPem: string; keyPem: string } | undefined, authority = 'b.t:8080') =>
  new grpc.Client(address, grpc.credentials.createSsl(Buffer.from(ca.caPem), pem ? Buffer.from(pem.keyPem) : null, pem ? Buffer.from(pem.certPem) : null), {
    'grpc.default_authority': authority,
    'grpc.ssl_target_name_override': 'localhost',
  });

beforeAll(async () => {
  ca = await createTestCa();
  other = await createTestCa('Another CA');
  const serving = await ca.server();
  responder = new DenyResponder({
    address: '127.0.0.1:0',
    tls: { caPem: ca.caPem, ...serving },
    reason: (c, authority, path) => {
      seen.push({ caller: c, authority, path });
      return reason(c, authority, path);
    },
    rate: 1000,
    burst: 1000,
  });
  const { port } = await responder.start();
  address = `127.0.0.1:${port}`;
});

afterAll(async () => {
  await responder.stop();
});

describe('deny responder', () => {
  it('answers any method over mTLS with PERMISSION_DENIED and the reason for the certificate identity, ignoring identity headers', async () => {
    const pem = await ca.client({ uri: ['spiffe://cluster.local/ns/t/sa/a'] });
    const c = tlsClient(pem);
    const md = new grpc.Metadata();
    md.set('x-forwarded-client-cert', 'URI=spiffe://cluster.local/ns/t/sa/admin');
    const err = await call(c, '/pkg.Svc/Method', md);
    expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(err.details).toBe('denied: t/a (cluster.local) -> b.t:8080/pkg.Svc/Method');
    expect((await call(c, '/other.Thing/Do')).details).toBe('denied: t/a (cluster.local) -> b.t:8080/other.Thing/Do');
    c.close();
  });

  it('says the identity is unknown for a cleartext caller, a certificate of another CA, or none', async () => {
    const plain = new grpc.Client(address, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'b.t:8080' });
    const p = await call(plain, '/pkg.Svc/M');
    expect(p.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(p.details).toContain('cleartext');
    plain.close();
    const foreign = tlsClient(await other.client({ uri: ['spiffe://cluster.local/ns/t/sa/a'] }));
    const f = await call(foreign, '/pkg.Svc/M');
    expect(f.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(f.details).toContain('not verified by the mesh CA');
    foreign.close();
    const none = tlsClient(undefined);
    const n = await call(none, '/pkg.Svc/M');
    expect(n.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(n.details).toContain('not verified');
    none.close();
  });

  it('percent-encodes the message (non-ASCII, %) and bounds its length', async () => {
    expect(encodeGrpcMessage('a 100% ü\n')).toBe('a 100%25 %C3%BC%0A');
    const c = new grpc.Client(address, grpc.credentials.createInsecure());
    reason = () => 'ünïcode 100% sure';
    expect((await call(c, '/a.B/C')).details).toBe('ünïcode 100% sure');
    reason = () => 'x'.repeat(5000);
    expect((await call(c, '/a.B/C')).details.length).toBe(MAX_REASON);
    reason = () => {
      throw new Error('catalog exploded');
    };
    const e = await call(c, '/a.B/C');
    expect(e.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(e.details).toContain('could not work out the reason');
    c.close();
    reason = (c2) => (c2.identity ? 'ok' : `denied: ${c2.why}`);
  });

  it('survives garbage on the socket (cleartext and a broken TLS hello) and keeps answering', async () => {
    for (const bytes of [Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), Buffer.from([0x16, 0x03, 0x01, 0xff, 0xff, 0, 1, 2, 3]), Buffer.alloc(70_000, 0x41)]) {
      await new Promise<void>((resolve) => {
        const s = tcpConnect(Number(address.split(':')[1]), '127.0.0.1', () => s.end(bytes));
        s.on('error', () => resolve());
        s.on('close', () => resolve());
        s.resume();
      });
    }
    await new Promise<void>((resolve) => {
      const s = tlsConnect({ host: '127.0.0.1', port: Number(address.split(':')[1]), rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => s.end('hello'));
      s.on('error', () => resolve());
      s.on('close', () => resolve());
      s.resume();
    });
    const c = new grpc.Client(address, grpc.credentials.createInsecure());
    expect((await call(c, '/a.B/C')).code).toBe(grpc.status.PERMISSION_DENIED);
    c.close();
  });

  it('past its rate the call is still denied, with a fixed message instead of the reason', async () => {
    const limited = new DenyResponder({ address: '127.0.0.1:0', tls: { caPem: ca.caPem, ...(await ca.server()) }, reason: () => 'the reason', rate: 0.001, burst: 1 });
    const { port } = await limited.start();
    const c = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    try {
      expect((await call(c, '/a.B/C')).details).toBe('the reason');
      const second = await call(c, '/a.B/C');
      expect(second.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(second.details).toContain('rate limit');
    } finally {
      c.close();
      await limited.stop();
    }
  });

  it('refuses a taken address with an error naming the config key', async () => {
    const clash = new DenyResponder({ address, tls: { caPem: ca.caPem, ...(await ca.server()) }, reason: () => 'x' });
    await expect(clash.start()).rejects.toThrow(`the deny responder cannot listen on ${address} (xds.denyResponder.address)`);
    await clash.stop();
  });
});
