import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controllerRef, defaultParts, loadConfig, startMesh, type Mesh } from '@trellis/core';
import type { Logger } from '@trellis/plugin-sdk';
import { FakeVault } from '../support/fake-vault.ts';
import { runTrellis } from '../support/cli.ts';

/**
 * The identity service on a controller whose certificates come from Vault PKI (the fake Vault, speaking its
 * HTTP API with a real CA): a join token gets a certificate signed by Vault's `sign/<role>` for the token's
 * identity, the workload keeps its key, another identity is refused before Vault is asked.
 */

const work = mkdtempSync(join(tmpdir(), 'trellis-identity-vault-'));
const config = join(work, 'trellis.yaml');
const ca = join(work, 'identity-tokens', 'trust-bundle.pem');
const logLines: string[] = [];
const outputs: string[] = [];
let vault: FakeVault;
let mesh: Mesh;
let server: string;

function capture(fields: Record<string, unknown> = {}): Logger {
  const line = (level: string) => (msg: string, f?: Record<string, unknown>) => void logLines.push(JSON.stringify({ level, msg, ...fields, ...f }));
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error'), child: (f) => capture({ ...fields, ...f }) };
}

const run = async (args: string[]) => {
  const r = await runTrellis(args);
  outputs.push(r.out, r.err);
  return r;
};
const token = async (identity: string) => {
  const r = await run(['token', 'create', '--identity', identity, '--config', config, '--ttl', '10m']);
  expect(r.code).toBe(0);
  return r.out.trim();
};
const signCalls = () => vault.requests.filter((r) => r.path === '/v1/pki/sign/mesh');

beforeAll(async () => {
  // The role docs/certificates.md asks for: names from the request, any key type, the mesh's SPIFFE IDs.
  vault = await new FakeVault({ tokens: ['root-token'], role: { useCsrCommonName: false, useCsrSans: false, keyType: 'any', allowedUriSans: ['spiffe://cluster.local/*'] } }).start();
  writeFileSync(
    config,
    `plugins:\n  proxies: [ { use: grpc }, { use: envoy } ]\n` +
      `  certificates: { use: vault, config: { address: "${vault.url}", role: mesh, auth: { token: root-token }, retries: { max: 1, baseDelay: 50ms } } }\n` +
      `xds: { address: 127.0.0.1:0, plaintextAddress: 127.0.0.1:0 }\nadmin: { address: 127.0.0.1:0 }\nidentity: { address: 127.0.0.1:0 }\nlog: { level: debug }\n`,
  );
  mesh = await startMesh({ config: await loadConfig(config), parts: defaultParts, logger: capture(), adminAddress: '127.0.0.1:0' });
  server = mesh.container.resolve(controllerRef).identityUrl() ?? '';
  expect(server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
});
afterAll(async () => {
  await mesh?.stop();
  await vault?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('the identity service on Vault PKI', () => {
  it("a join token for shop/cart gets a certificate Vault signed for the workload's own key", async () => {
    const dir = join(work, 'cart');
    const t = await token('shop/cart');
    const r = await run(['bootstrap', 'grpc', '--identity', 'shop/cart', '--config', config, '--out', dir, '--server', server, '--ca', ca, '--token', t, '--controller', '127.0.0.1:1']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    // The controller publishes Vault's CA as the trust bundle; the certificate chains to it.
    expect(readFileSync(ca, 'utf8')).toBe(vault.caPem);
    const cert = new X509Certificate(readFileSync(join(dir, 'cert.pem')));
    expect(cert.verify(new X509Certificate(vault.caPem).publicKey)).toBe(true);
    expect(cert.subjectAltName).toBe('DNS:cart.shop.cluster.local, URI:spiffe://cluster.local/ns/shop/sa/cart');
    expect(cert.checkPrivateKey(createPrivateKey(readFileSync(join(dir, 'key.pem'))))).toBe(true);
    // Vault got the CSR and the controller's names, and signed it (the key never left the workload).
    expect(signCalls()).toHaveLength(1);
    expect(signCalls()[0]?.body).toMatchObject({ common_name: 'cart.shop.cluster.local', alt_names: 'cart.shop.cluster.local', uri_sans: 'spiffe://cluster.local/ns/shop/sa/cart', format: 'pem' });
    expect((signCalls()[0]?.body as { csr: string }).csr).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----/);
    expect(vault.requests.some((q) => JSON.stringify(q.body ?? '').includes('PRIVATE KEY'))).toBe(false);
  });

  it('renews with the current certificate (checked against the Vault trust bundle), again through sign/<role>', async () => {
    const dir = join(work, 'cart');
    const before = new X509Certificate(readFileSync(join(dir, 'cert.pem')));
    const r = await run(['agent', '--identity', 'shop/cart', '--dir', dir, '--server', server, '--once']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const after = new X509Certificate(readFileSync(join(dir, 'cert.pem')));
    expect(after.serialNumber).not.toBe(before.serialNumber);
    expect(after.subjectAltName).toBe(before.subjectAltName);
    expect(signCalls()).toHaveLength(2);
  });

  it('refuses a join token for shop/cart asking for shop/checkout, without asking Vault', async () => {
    const t = await token('shop/cart');
    const calls = signCalls().length;
    const r = await run(['agent', '--identity', 'shop/checkout', '--dir', join(work, 'checkout'), '--server', server, '--ca', ca, '--token', t, '--once']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/refused \(403\): refused shop\/checkout: join token [0-9a-f]+: identity_mismatch/);
    expect(signCalls()).toHaveLength(calls);
    // The certificate of shop/cart does not get shop/checkout either.
    const renew = await run(['agent', '--identity', 'shop/checkout', '--dir', join(work, 'cart'), '--server', server, '--once']);
    expect(renew.code).toBe(1);
    expect(renew.err).toContain('the certificate proves another identity');
    expect(signCalls()).toHaveLength(calls);
  });

  it("bootstrap envoy: the xDS client certificate Vault signed names the node id the controller assigned", async () => {
    const dir = join(work, 'envoy');
    const t = await token('shop/cart');
    const r = await run(['bootstrap', 'envoy', '--identity', 'shop/cart', '--config', config, '--out', dir, '--server', server, '--ca', ca, '--token', t, '--controller', 'trellis.trellis-system.svc:15128']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const boot = parse(readFileSync(join(dir, 'bootstrap.yaml'), 'utf8')) as { node: { id: string } };
    const cert = new X509Certificate(readFileSync(join(dir, 'tls.crt'), 'utf8'));
    expect(cert.subjectAltName).toBe(`DNS:${boot.node.id}, URI:spiffe://cluster.local/ns/shop/sa/cart`);
    expect(cert.verify(new X509Certificate(vault.caPem).publicKey)).toBe(true);
  });

  it('no private key in any controller log or CLI output', () => {
    expect(logLines.some((l) => l.includes('certificate issued') && l.includes('shop/cart'))).toBe(true);
    expect([...logLines, ...outputs].join('\n')).not.toContain('PRIVATE KEY');
  });
});
