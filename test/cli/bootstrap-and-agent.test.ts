import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { controllerRef, defaultParts, loadConfig, silentLogger, startMesh, type Mesh } from '@trellis/core';
import { parseNodeId } from '@trellis/plugin-sdk';
import { runTrellis } from '../support/cli.ts';

/** `trellis bootstrap grpc`, `trellis agent` and `trellis certs rotate-root` against a running controller. */

const work = mkdtempSync(join(tmpdir(), 'trellis-boot-'));
const meshes: Mesh[] = [];
afterAll(async () => {
  for (const m of meshes) await m.stop();
  rmSync(work, { recursive: true, force: true });
});

const run = (args: string[]) => runTrellis(args);

/**
 * A controller on `file` (its ADS on free ports; the workloads' copy of the file names a plaintext port for
 * their bootstraps only); returns its identity service URL.
 */
async function controller(file: string): Promise<string> {
  const own = `${file}.controller.yaml`;
  writeFileSync(own, readFileSync(file, 'utf8').replace('127.0.0.1:15129', '127.0.0.1:0'));
  const mesh = await startMesh({ config: await loadConfig(own), parts: defaultParts, logger: silentLogger(), adminAddress: '127.0.0.1:0' });
  meshes.push(mesh);
  return mesh.container.resolve(controllerRef).identityUrl() ?? '';
}

const base = `  proxies: [ { use: grpc } ]\n  certificates: { use: selfsigned, config: { stateDir: ./ca } }\nxds: { address: 127.0.0.1:0, plaintextAddress: 127.0.0.1:15129 }\nadmin: { address: 127.0.0.1:0 }\nidentity: { address: 127.0.0.1:0 }\nlog: { level: silent }\n`;
const config = join(work, 'trellis.yaml');
writeFileSync(config, `plugins:\n${base}`);
const ca = join(work, 'ca', 'ca.pem');

describe('trellis bootstrap grpc and trellis agent', () => {
  let server: string;
  const dir = join(work, 'bookbuyer');
  const token = async (identity: string) => (await run(['token', 'create', '--identity', identity, '--config', config])).out.trim();

  it('writes a bootstrap whose node id, server and certificate files belong to the identity', async () => {
    server = await controller(config);
    const r = await run(['bootstrap', 'grpc', '--identity', 'bookbuyer/bookbuyer', '--config', config, '--out', dir, '--server', server, '--ca', ca, '--token', await token('bookbuyer/bookbuyer')]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const boot = JSON.parse(readFileSync(join(dir, 'bootstrap.json'), 'utf8')) as { node: { id: string }; xds_servers: { server_uri: string }[] };
    expect(parseNodeId(boot.node.id)).toMatchObject({ kind: 'grpc', namespace: 'bookbuyer', serviceAccount: 'bookbuyer', trustDomain: 'cluster.local' });
    expect(boot.xds_servers[0]?.server_uri).toBe('127.0.0.1:15129');
  });

  it('needs no CA state on the workload: a config whose stateDir does not exist works, and nothing is created', async () => {
    const lost = join(work, 'lost.yaml');
    writeFileSync(lost, `plugins:\n${base.replace('./ca', './no-such-ca')}`);
    const r = await run(['bootstrap', 'grpc', '--identity', 'a/b', '--config', lost, '--out', join(work, 'lost-out'), '--server', server, '--ca', ca, '--token', await token('a/b')]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect((await run(['agent', '--identity', 'a/b', '--dir', join(work, 'lost-out'), '--server', server, '--once'])).code).toBe(0);
    expect(existsSync(join(work, 'no-such-ca'))).toBe(false);
  });

  it("takes the trust domain from the controller (its MeshConfig), not the workload's config file", async () => {
    const manifests = join(work, 'manifests');
    mkdirSync(manifests, { recursive: true });
    writeFileSync(
      join(manifests, 'mesh-config.yaml'),
      `apiVersion: config.trellismesh.io/v1alpha1\nkind: MeshConfig\nmetadata: { name: trellis-mesh-config, namespace: trellis-system }\nspec: { certificate: { trustDomain: cluster.local } }\n`,
    );
    const withSource = join(work, 'with-source.yaml');
    writeFileSync(withSource, `mesh: { trustDomain: example.org }\nplugins:\n  sources: [ { use: file, config: { dir: ./manifests, watch: false } } ]\n${base.replace('./ca', './ca2')}`);
    const server2 = await controller(withSource);
    const out = join(work, 'td');
    const t = (await run(['token', 'create', '--identity', 'bookbuyer/bookbuyer', '--config', withSource])).out.trim();
    const r = await run(['bootstrap', 'grpc', '--identity', 'bookbuyer/bookbuyer', '--config', withSource, '--out', out, '--server', server2, '--ca', join(work, 'ca2', 'ca.pem'), '--token', t]);
    expect(r.err).toBe('');
    expect(parseNodeId((JSON.parse(readFileSync(join(out, 'bootstrap.json'), 'utf8')) as { node: { id: string } }).node.id)).toMatchObject({ trustDomain: 'cluster.local' });
    expect(new X509Certificate(readFileSync(join(out, 'cert.pem'))).subjectAltName).toContain('URI:spiffe://cluster.local/ns/bookbuyer/sa/bookbuyer');
  });

  it('refuses a grpc bootstrap when no plaintext listener is configured, and explains why', async () => {
    const bare = join(work, 'bare.yaml');
    writeFileSync(bare, `plugins:\n  proxies: [ { use: grpc } ]\n  certificates: { use: selfsigned, config: { stateDir: ./ca } }\n`);
    const r = await run(['bootstrap', 'grpc', '--identity', 'a/b', '--config', bare, '--out', join(work, 'x'), '--server', server, '--ca', ca, '--token', 'unused']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('cannot use TLS to the control plane');
  });

  it('says how to get a token when none is given, and rejects a malformed identity', async () => {
    const r = await run(['bootstrap', 'grpc', '--identity', 'a/b', '--config', config, '--out', join(work, 'y'), '--server', server, '--ca', ca]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('trellis token create --identity a/b');
    const bad = await run(['bootstrap', 'grpc', '--identity', 'nope', '--config', config, '--out', join(work, 'y')]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--identity must be <namespace>/<serviceaccount>');
  });

  it('certs rotate-root moves the CA through prepare, promote and retire; the agent then gets a leaf of the new root', async () => {
    const handle = meshes[0]?.container.resolve(controllerRef);
    const oldRoot = readFileSync(join(dir, 'ca.pem'), 'utf8');
    const prepare = await run(['certs', 'rotate-root', 'prepare', '--config', config]);
    expect(prepare.out).toContain('2 trusted root(s)');
    await handle?.certificates().checkTrustBundle(); // the controller's poll, now
    // Workloads learn the new root (a renewal) before it signs anything.
    expect((await run(['agent', '--identity', 'bookbuyer/bookbuyer', '--dir', dir, '--server', server, '--once'])).code).toBe(0);
    expect(readFileSync(join(dir, 'ca.pem'), 'utf8')).toContain(oldRoot.trim()); // both roots trusted until retire
    expect((await run(['certs', 'rotate-root', 'promote', '--config', config])).code).toBe(0);
    await handle?.certificates().checkTrustBundle();
    expect((await run(['agent', '--identity', 'bookbuyer/bookbuyer', '--dir', dir, '--server', server, '--once'])).code).toBe(0);
    const leaf = new X509Certificate(readFileSync(join(dir, 'cert.pem')));
    expect(leaf.verify(new X509Certificate(oldRoot).publicKey)).toBe(false);
    expect((await run(['certs', 'rotate-root', 'retire', '--config', config])).out).toContain('1 trusted root(s)');
    await handle?.certificates().checkTrustBundle();
    expect((await run(['agent', '--identity', 'bookbuyer/bookbuyer', '--dir', dir, '--server', server, '--once'])).code).toBe(0);
    expect(readFileSync(join(dir, 'ca.pem'), 'utf8')).not.toContain(oldRoot.trim());
    expect((await run(['certs', 'rotate-root', 'sideways', '--config', config])).code).toBe(2);
  });
});
