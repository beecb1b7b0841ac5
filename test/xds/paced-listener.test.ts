import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { xds } from '@trellis/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestCa, type TestCa } from '../support/pki.ts';

const { listenPaced } = xds;

/** A unary echo that also returns the DNS SAN the server saw on the caller's certificate. */
const passthrough = (b: Buffer) => b;
const definition = {
  Echo: { path: '/test.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: passthrough, requestDeserialize: passthrough, responseSerialize: passthrough, responseDeserialize: passthrough },
} satisfies grpc.ServiceDefinition;

let ca: TestCa;
let server: grpc.Server;
let serverCreds: grpc.ServerCredentials;

beforeAll(async () => {
  ca = await createTestCa();
  const s = await ca.server();
  serverCreds = grpc.ServerCredentials.createSsl(Buffer.from(ca.caPem), [{ cert_chain: Buffer.from(s.certPem), private_key: Buffer.from(s.keyPem) }], true);
  server = new grpc.Server({ 'grpc.enable_channelz': 0 });
  server.addService(definition, {
    Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      const san = call.getAuthContext().sslPeerCertificate?.subjectaltname ?? 'none';
      cb(null, Buffer.concat([call.request, Buffer.from(`|${san}`)]));
    },
  });
});

afterAll(() => server.forceShutdown());

function echo(port: number, i: number, cert: { certPem: string; keyPem: string }): Promise<string> {
  const creds = grpc.credentials.createSsl(Buffer.from(ca.caPem), Buffer.from(cert.keyPem), Buffer.from(cert.certPem));
  // A local subchannel pool: every client its own TCP + TLS connection, as every proxy has.
  const client = new grpc.Client(`localhost:${port}`, creds, { 'grpc.use_local_subchannel_pool': 1 });
  return new Promise<string>((resolve, reject) => {
    client.makeUnaryRequest('/test.Echo/Echo', passthrough, passthrough, Buffer.from(`c${i}`), { deadline: Date.now() + 30_000 }, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res!.toString());
    });
  });
}

describe('listenPaced (our own listening socket fed to grpc-js)', () => {
  it('serves many mTLS connections that arrive at once, one handed over per turn, with their client certificates', async () => {
    const listener = await listenPaced(server, '127.0.0.1:0', serverCreds, { backlog: 128, tls: true, acceptsPerTurn: 1 });
    try {
      const certs = await Promise.all(Array.from({ length: 40 }, (_, i) => ca.client({ dns: [`node-${i}.test`] })));
      const replies = await Promise.all(certs.map((c, i) => echo(listener.port, i, c)));
      expect(replies).toEqual(certs.map((_, i) => `c${i}|DNS:node-${i}.test`));
      expect(listener.queued).toBe(0);
    } finally {
      listener.close();
    }
  });

  it('holds accepted connections, not yet handshaken, while admission says no, and serves them once it says yes', async () => {
    let open = false;
    let asked = 0;
    const admit = { tryTake: () => (asked++, open) };
    const listener = await listenPaced(server, '127.0.0.1:0', serverCreds, { backlog: 64, tls: true, admit, admitRetryMs: 2 });
    try {
      const certs = await Promise.all(Array.from({ length: 5 }, (_, i) => ca.client({ dns: [`held-${i}.test`] })));
      let answered = 0;
      const calls = certs.map((c, i) => echo(listener.port, i, c).then((r) => (answered++, r)));
      while (listener.queued < 5) await new Promise((r) => setTimeout(r, 5));
      const askedBefore = asked;
      await new Promise((r) => setTimeout(r, 50));
      // Still queued, none answered, and admission is asked again (a timer, not a busy loop on the event loop).
      expect(listener.queued).toBe(5);
      expect(answered).toBe(0);
      expect(asked).toBeGreaterThan(askedBefore);
      open = true;
      expect(await Promise.all(calls)).toEqual(certs.map((_, i) => `c${i}|DNS:held-${i}.test`));
      expect(listener.queued).toBe(0);
    } finally {
      listener.close();
    }
  });

  it('refuses a client without a certificate (the handshake is still grpc-js\'s, client auth required)', async () => {
    const listener = await listenPaced(server, '127.0.0.1:0', serverCreds, { backlog: 16, tls: true });
    try {
      const client = new grpc.Client(`localhost:${listener.port}`, grpc.credentials.createSsl(Buffer.from(ca.caPem)), { 'grpc.use_local_subchannel_pool': 1 });
      const err = await new Promise<grpc.ServiceError | null>((resolve) =>
        client.makeUnaryRequest('/test.Echo/Echo', passthrough, passthrough, Buffer.from('x'), { deadline: Date.now() + 5000 }, (e) => {
          client.close();
          resolve(e);
        }),
      );
      expect(err?.code).toBe(grpc.status.UNAVAILABLE);
    } finally {
      listener.close();
    }
  });

  it('listens with the backlog asked for, capped by net.core.somaxconn (not Node\'s default 511)', async () => {
    let ssOk = true;
    try {
      execFileSync('ss', ['-V'], { stdio: 'ignore' });
    } catch {
      ssOk = false;
    }
    if (!ssOk) return; // `ss` is what shows a listening socket's backlog (its Send-Q)
    const listener = await listenPaced(server, '127.0.0.1:0', serverCreds, { backlog: 3000, tls: true });
    try {
      const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
      const line = execFileSync('ss', ['-ltnH', `sport = :${listener.port}`], { encoding: 'utf8' }).trim();
      const sendQ = Number(line.split(/\s+/)[2]);
      expect(sendQ).toBe(Math.min(3000, somaxconn));
    } finally {
      listener.close();
    }
  });

  it('rejects an address that is not host:port', async () => {
    await expect(listenPaced(server, 'unix:/tmp/x', serverCreds, { backlog: 16, tls: true })).rejects.toThrow(/not host:port/);
  });
});
