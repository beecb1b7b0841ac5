import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '@trellis/core';
import { createSelfSignedProvider } from '@trellis/plugin-certs-selfsigned';
import { parseNodeId } from '@trellis/plugin-sdk';

const work = mkdtempSync(join(tmpdir(), 'trellis-boot-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const config = join(work, 'trellis.yaml');
writeFileSync(
  config,
  `plugins:\n  proxies: [ { use: grpc } ]\n  certificates: { use: selfsigned, config: { stateDir: ./ca } }\nxds: { plaintextAddress: 127.0.0.1:15129 }\n`,
);

// The CA the controller creates on its first start (CLI commands only use it).
beforeAll(async () => {
  await createSelfSignedProvider({ stateDir: join(work, 'ca'), caValidityMs: 87_600 * 3_600_000, keyType: 'ecdsa-p256', commonName: 'Trellis Root CA', createRoot: true }).start?.();
});

const run = async (args: string[]) => {
  let out = '';
  let err = '';
  const code = await runCli(args, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
};

describe('trellis bootstrap grpc and trellis agent', () => {
  const dir = join(work, 'bookbuyer');

  it('writes a bootstrap whose node id, server and certificate files belong to the identity', async () => {
    const r = await run(['bootstrap', 'grpc', '--identity', 'bookbuyer/bookbuyer', '--config', config, '--out', dir]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const boot = JSON.parse(readFileSync(join(dir, 'bootstrap.json'), 'utf8')) as {
      node: { id: string };
      xds_servers: { server_uri: string }[];
      certificate_providers: { default: { config: { certificate_file: string; private_key_file: string } } };
    };
    expect(parseNodeId(boot.node.id)).toMatchObject({ kind: 'grpc', namespace: 'bookbuyer', serviceAccount: 'bookbuyer', trustDomain: 'cluster.local' });
    expect(boot.xds_servers[0]?.server_uri).toBe('127.0.0.1:15129');
    expect(boot.certificate_providers.default.config.private_key_file).toBe(join(dir, 'identity.pem'));
    expect(statSync(join(dir, 'identity.pem')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'key.pem')).mode & 0o777).toBe(0o600);
    const cert = new X509Certificate(readFileSync(join(dir, 'cert.pem')));
    expect(cert.subjectAltName).toContain('URI:spiffe://cluster.local/ns/bookbuyer/sa/bookbuyer');
    expect(cert.verify(new X509Certificate(readFileSync(join(dir, 'ca.pem'))).publicKey)).toBe(true);
  });

  it('agent --once replaces the certificate atomically with a fresh one from the same CA', async () => {
    const before = new X509Certificate(readFileSync(join(dir, 'cert.pem')));
    const r = await run(['agent', '--identity', 'bookbuyer/bookbuyer', '--config', config, '--dir', dir, '--once']);
    expect(r.code).toBe(0);
    const after = new X509Certificate(readFileSync(join(dir, 'cert.pem')));
    expect(after.serialNumber).not.toBe(before.serialNumber);
    expect(after.subjectAltName).toBe(before.subjectAltName);
    expect(after.verify(new X509Certificate(readFileSync(join(dir, 'ca.pem'))).publicKey)).toBe(true);
    expect(statSync(join(dir, 'key.pem')).mode & 0o777).toBe(0o600);
  });

  it("takes the trust domain from the mesh's MeshConfig, not only the config file", async () => {
    const manifests = join(work, 'manifests');
    mkdirSync(manifests, { recursive: true });
    writeFileSync(
      join(manifests, 'mesh-config.yaml'),
      `apiVersion: config.trellismesh.io/v1alpha1\nkind: MeshConfig\nmetadata: { name: trellis-mesh-config, namespace: trellis-system }\nspec: { certificate: { trustDomain: cluster.local } }\n`,
    );
    const withSource = join(work, 'with-source.yaml');
    writeFileSync(
      withSource,
      `mesh: { trustDomain: example.org }\nplugins:\n  sources: [ { use: file, config: { dir: ./manifests, watch: false } } ]\n  proxies: [ { use: grpc } ]\n  certificates: { use: selfsigned, config: { stateDir: ./ca } }\nxds: { plaintextAddress: 127.0.0.1:15129 }\n`,
    );
    const out = join(work, 'td');
    const r = await run(['bootstrap', 'grpc', '--identity', 'bookbuyer/bookbuyer', '--config', withSource, '--out', out]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const boot = JSON.parse(readFileSync(join(out, 'bootstrap.json'), 'utf8')) as { node: { id: string } };
    expect(parseNodeId(boot.node.id)).toMatchObject({ trustDomain: 'cluster.local' });
    expect(new X509Certificate(readFileSync(join(out, 'cert.pem'))).subjectAltName).toContain('URI:spiffe://cluster.local/ns/bookbuyer/sa/bookbuyer');
  });

  it('refuses a grpc bootstrap when no plaintext listener is configured, and explains why', async () => {
    const bare = join(work, 'bare.yaml');
    writeFileSync(bare, `plugins:\n  proxies: [ { use: grpc } ]\n  certificates: { use: selfsigned, config: { stateDir: ./ca } }\n`);
    const r = await run(['bootstrap', 'grpc', '--identity', 'a/b', '--config', bare, '--out', join(work, 'x')]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('cannot use TLS to the control plane');
  });

  it('never creates a new root: a missing stateDir fails with the reason and exit code 1, and nothing is written', async () => {
    const lost = join(work, 'lost.yaml');
    writeFileSync(lost, `plugins:\n  proxies: [ { use: grpc } ]\n  certificates: { use: selfsigned, config: { stateDir: ./no-such-ca } }\nxds: { plaintextAddress: 127.0.0.1:15129 }\n`);
    for (const args of [
      ['bootstrap', 'grpc', '--identity', 'a/b', '--config', lost, '--out', join(work, 'lost-out')],
      ['agent', '--identity', 'a/b', '--config', lost, '--dir', join(work, 'lost-out'), '--once'],
      ['certs', 'rotate-root', 'prepare', '--config', lost],
    ]) {
      const r = await run(args);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/no CA in .*no-such-ca \(ca\.pem is missing\); CLI commands never create a root/);
    }
    expect(existsSync(join(work, 'no-such-ca'))).toBe(false);
    expect(existsSync(join(work, 'lost-out'))).toBe(false);
  });

  it('rejects a malformed identity', async () => {
    const r = await run(['bootstrap', 'grpc', '--identity', 'nope', '--config', config, '--out', join(work, 'y')]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--identity must be <namespace>/<serviceaccount>');
  });
});

describe('trellis certs rotate-root', () => {
  it('moves the shared CA through prepare, promote and retire, and the agent then writes a leaf of the new root', async () => {
    const dir = join(work, 'rotating');
    await run(['agent', '--identity', 'shop/a', '--config', config, '--dir', dir, '--once']);
    const oldRoot = readFileSync(join(dir, 'ca.pem'), 'utf8');
    const prepare = await run(['certs', 'rotate-root', 'prepare', '--config', config]);
    expect(prepare.out).toContain('2 trusted root(s)');
    expect((await run(['certs', 'rotate-root', 'promote', '--config', config])).code).toBe(0);
    await run(['agent', '--identity', 'shop/a', '--config', config, '--dir', dir, '--once']);
    const bundle = readFileSync(join(dir, 'ca.pem'), 'utf8');
    expect(bundle).toContain(oldRoot.trim()); // both roots trusted until retire
    const leaf = new X509Certificate(readFileSync(join(dir, 'cert.pem')));
    expect(leaf.verify(new X509Certificate(oldRoot).publicKey)).toBe(false);
    const retire = await run(['certs', 'rotate-root', 'retire', '--config', config]);
    expect(retire.out).toContain('1 trusted root(s)');
    await run(['agent', '--identity', 'shop/a', '--config', config, '--dir', dir, '--once']);
    expect(readFileSync(join(dir, 'ca.pem'), 'utf8')).not.toContain(oldRoot.trim());
    expect((await run(['certs', 'rotate-root', 'sideways', '--config', config])).code).toBe(2);
  });
});
