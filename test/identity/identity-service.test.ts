import { X509Certificate } from 'node:crypto';
import { readFileSync, readdirSync, statSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controllerRef, defaultParts, loadConfig, startMesh, validateBootstrap, validateEnvoyResource, type Mesh } from '@trellis/core';
import { parseNodeId, type Logger } from '@trellis/plugin-sdk';
import { runTrellis } from '../support/cli.ts';

/**
 * The identity service end to end: a real controller (config file, self-signed CA), `trellis token create`,
 * `trellis bootstrap` and `trellis agent` as its clients over HTTPS, and the refusals the acceptance list names.
 */

const work = mkdtempSync(join(tmpdir(), 'trellis-identity-'));
const config = join(work, 'trellis.yaml');
writeFileSync(
  config,
  `plugins:\n  proxies: [ { use: grpc }, { use: envoy } ]\n  certificates: { use: selfsigned, config: { stateDir: ./ca } }\n` +
    `xds: { address: 127.0.0.1:0, plaintextAddress: 127.0.0.1:0 }\nadmin: { address: 127.0.0.1:0 }\nidentity: { address: 127.0.0.1:0 }\nlog: { level: debug }\n`,
);

const logLines: string[] = [];
function capture(fields: Record<string, unknown> = {}): Logger {
  const line = (level: string) => (msg: string, f?: Record<string, unknown>) => void logLines.push(JSON.stringify({ level, msg, ...fields, ...f }));
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error'), child: (f) => capture({ ...fields, ...f }) };
}

let mesh: Mesh;
let server: string;
// The public trust bundle the controller publishes (never the CA state file, which holds the key).
const ca = join(work, 'identity-tokens', 'trust-bundle.pem');
const outputs: string[] = [];

const run = async (args: string[]) => {
  const r = await runTrellis(args);
  outputs.push(r.out, r.err);
  return r;
};
const token = async (identity: string, ttl = '10m') => {
  const r = await run(['token', 'create', '--identity', identity, '--config', config, '--ttl', ttl]);
  expect(r.code).toBe(0);
  return r.out.trim();
};
const admin = async (path: string) => {
  const res = await fetch(`${mesh.adminUrl}${path}`);
  const text = await res.text();
  outputs.push(text);
  return text;
};

beforeAll(async () => {
  mesh = await startMesh({ config: await loadConfig(config), parts: defaultParts, logger: capture(), adminAddress: '127.0.0.1:0' });
  server = mesh.container.resolve(controllerRef).identityUrl() ?? '';
  expect(server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
});
afterAll(async () => {
  await mesh?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('the identity service', () => {
  it('bootstrap grpc: a join token gets a workload certificate for its identity; the key was made on the workload', async () => {
    const dir = join(work, 'cart');
    const t = await token('shop/cart');
    const r = await run(['bootstrap', 'grpc', '--identity', 'shop/cart', '--config', config, '--out', dir, '--server', server, '--ca', ca, '--token', t, '--controller', '127.0.0.1:1']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const cert = new X509Certificate(readFileSync(join(dir, 'cert.pem')));
    expect(cert.subjectAltName).toContain('URI:spiffe://cluster.local/ns/shop/sa/cart');
    expect(cert.verify(new X509Certificate(readFileSync(ca)).publicKey)).toBe(true);
    // The certificate is of the key in the directory: the workload's own.
    expect(cert.checkPrivateKey((await import('node:crypto')).createPrivateKey(readFileSync(join(dir, 'key.pem'))))).toBe(true);
    expect(statSync(join(dir, 'key.pem')).mode & 0o777).toBe(0o600);
    const boot = JSON.parse(readFileSync(join(dir, 'bootstrap.json'), 'utf8')) as { node: { id: string } };
    expect(parseNodeId(boot.node.id)).toMatchObject({ kind: 'grpc', namespace: 'shop', serviceAccount: 'cart', trustDomain: 'cluster.local' });
  });

  it('agent --once renews with the current certificate (no token), same identity, new key and serial', async () => {
    const dir = join(work, 'cart');
    const before = new X509Certificate(readFileSync(join(dir, 'cert.pem')));
    const keyBefore = readFileSync(join(dir, 'key.pem'), 'utf8');
    const r = await run(['agent', '--identity', 'shop/cart', '--dir', dir, '--server', server, '--once']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const after = new X509Certificate(readFileSync(join(dir, 'cert.pem')));
    expect(after.serialNumber).not.toBe(before.serialNumber);
    expect(after.subjectAltName).toBe(before.subjectAltName);
    expect(readFileSync(join(dir, 'key.pem'), 'utf8')).not.toBe(keyBefore);
  });

  it('refuses a join token for shop/cart asking for shop/checkout, and the token stays good for shop/cart', async () => {
    const t = await token('shop/cart');
    const r = await run(['agent', '--identity', 'shop/checkout', '--dir', join(work, 'checkout'), '--server', server, '--ca', ca, '--token', t, '--once']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/refused \(403\): refused shop\/checkout: join token [0-9a-f]+: identity_mismatch/);
    expect(r.err).not.toContain(t.split('.')[2]);
    const ok = await run(['agent', '--identity', 'shop/cart', '--dir', join(work, 'cart2'), '--server', server, '--ca', ca, '--token', t, '--once']);
    expect(ok.code).toBe(0);
  });

  it('refuses a renewal whose certificate proves another identity', async () => {
    // cart's certificate and key, asking for checkout.
    const r = await run(['agent', '--identity', 'shop/checkout', '--dir', join(work, 'cart'), '--server', server, '--once']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('the certificate proves another identity');
  });

  it('refuses a reused token and an expired one', async () => {
    const t = await token('shop/pay');
    expect((await run(['agent', '--identity', 'shop/pay', '--dir', join(work, 'pay1'), '--server', server, '--ca', ca, '--token', t, '--once'])).code).toBe(0);
    const again = await run(['agent', '--identity', 'shop/pay', '--dir', join(work, 'pay2'), '--server', server, '--ca', ca, '--token', t, '--once']);
    expect(again.code).toBe(1);
    expect(again.err).toContain(': reused');
    const short = await token('shop/pay', '1s');
    const record = join(work, 'identity-tokens', 'pending', `${short.split('.')[1]}.json`);
    // Wait until the token's expiry has passed (a condition, not a fixed sleep).
    const expiresAt = Date.parse((JSON.parse(readFileSync(record, 'utf8')) as { expiresAt: string }).expiresAt);
    while (Date.now() <= expiresAt) await new Promise((r) => setTimeout(r, 100));
    const expired = await run(['agent', '--identity', 'shop/pay', '--dir', join(work, 'pay3'), '--server', server, '--ca', ca, '--token', short, '--once']);
    expect(expired.code).toBe(1);
    expect(expired.err).toContain(': expired');
    const forged = await run(['agent', '--identity', 'shop/pay', '--dir', join(work, 'pay4'), '--server', server, '--ca', ca, '--token', `trellis-join.${'0'.repeat(16)}.${'A'.repeat(43)}`, '--once']);
    expect(forged.err).toContain(': unknown');
  });

  it('refuses a request with no credential (401) and a malformed body (400), naming the field', async () => {
    const res = await fetch(`${server.replace('https', 'http')}/`).catch((e: unknown) => e);
    expect(res).toBeInstanceOf(Error); // HTTPS only
    const { request } = await import('node:https');
    const post = (body: string) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = request(`${server}/identity/v1/certificates`, { method: 'POST', ca: readFileSync(ca), servername: 'trellis-controller', headers: { 'content-type': 'application/json' }, checkServerIdentity: () => undefined }, (r) => {
          let text = '';
          r.on('data', (d: Buffer) => (text += d.toString()));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, text }));
        });
        req.on('error', reject);
        req.end(body);
      });
    expect(await post('{"identity":"shop/cart","csr":"-----BEGIN CERTIFICATE REQUEST-----"}')).toMatchObject({ status: 401 });
    const bad = await post('{"identity":"shop/cart"}');
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('csr: must be a PEM');
    expect((await post('not json')).status).toBe(400);
  });

  it('bootstrap envoy: the xDS client certificate names the node id the controller assigned; the bootstrap is strictly valid', async () => {
    const dir = join(work, 'envoy');
    const t = await token('shop/cart');
    const r = await run(['bootstrap', 'envoy', '--identity', 'shop/cart', '--config', config, '--out', dir, '--server', server, '--ca', ca, '--token', t, '--controller', 'trellis.trellis-system.svc:15128']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const boot = parse(readFileSync(join(dir, 'bootstrap.yaml'), 'utf8')) as Record<string, unknown> & { node: { id: string } };
    expect(validateBootstrap(boot)).toEqual([]);
    // The file-based SDS source the controller cluster reads its certificate from: strictly valid Secrets.
    const sds = parse(readFileSync(join(dir, 'xds-client-sds.yaml'), 'utf8')) as { resources: (Record<string, unknown> & { '@type': string })[] };
    expect(sds.resources).toHaveLength(2);
    for (const { '@type': type, ...secret } of sds.resources) expect(validateEnvoyResource(type, secret)).toEqual([]);
    const cert = new X509Certificate(readFileSync(join(dir, 'tls.crt'), 'utf8'));
    expect(cert.subjectAltName).toContain(boot.node.id);
    expect(statSync(join(dir, 'tls.key')).mode & 0o777).toBe(0o600);
    // The agent renews it in place, authenticated by the current one.
    const a = await run(['agent', '--identity', 'shop/cart', '--node-id', boot.node.id, '--dir', dir, '--server', server, '--once']);
    expect(a.code).toBe(0);
    const renewed = new X509Certificate(readFileSync(join(dir, 'tls.crt'), 'utf8'));
    expect(renewed.serialNumber).not.toBe(cert.serialNumber);
    expect(renewed.subjectAltName).toContain(boot.node.id);
  });

  it('metrics and /debug/certs/issuance show issuance by identity and the refusals', async () => {
    const metrics = await admin('/metrics');
    expect(metrics).toMatch(/trellis_identity_issued_total\{identity="shop\/cart",kind="workload",method="join-token"\} [1-9]/);
    expect(metrics).toMatch(/trellis_identity_issued_total\{identity="shop\/cart",kind="workload",method="certificate"\} [1-9]/);
    expect(metrics).toMatch(/trellis_identity_refused_total\{method="join-token",reason="identity_mismatch"\} 1/);
    expect(metrics).toMatch(/trellis_identity_refused_total\{method="join-token",reason="reused"\} 1/);
    const debug = JSON.parse(await admin('/debug/certs/issuance')) as { issued: Record<string, { issued: number }>; refusals: { recent: { wanted: string; proven?: string }[] } };
    expect(debug.issued['shop/cart']?.issued).toBeGreaterThanOrEqual(4);
    expect(debug.refusals.recent).toContainEqual(expect.objectContaining({ wanted: 'shop/checkout', proven: 'shop/cart' }));
    expect(logLines.some((l) => l.includes('identity request refused') && l.includes('shop/checkout'))).toBe(true);
  });

  it('keeps the CA state readable by its owner only, and no private key or token in any log, debug page or error', async () => {
    expect(statSync(join(work, 'ca')).mode & 0o077).toBe(0);
    for (const f of readdirSync(join(work, 'ca'))) if (/key|\.pem$/.test(f) && statSync(join(work, 'ca', f)).isFile()) expect(statSync(join(work, 'ca', f)).mode & 0o077).toBe(0);
    expect(statSync(join(work, 'identity-tokens')).mode & 0o077).toBe(0);
    expect(readFileSync(ca, 'utf8')).toMatch(/^-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----\n$/);
    for (const f of readdirSync(join(work, 'identity-tokens', 'used'))) expect(readFileSync(join(work, 'identity-tokens', 'used', f), 'utf8')).not.toMatch(/trellis-join\./);
    await admin('/debug/certs');
    await admin('/debug/proxies');
    expect(logLines.length).toBeGreaterThan(5);
    // Every CLI output (refusals included), controller log line and debug page read above.
    expect([...logLines, ...outputs].join('\n')).not.toContain('PRIVATE KEY');
    // Tokens appear only where `token create` prints them, never in the controller's logs.
    expect(logLines.join('\n')).not.toMatch(/trellis-join\.[0-9a-f]{16}\.[A-Za-z0-9_-]{43}/);
  });
});
