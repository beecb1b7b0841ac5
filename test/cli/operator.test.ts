import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORE_VERSION, controllerRef } from '@trellis/core';
import { formatNodeId, TypeUrls, type NodeIdentity } from '@trellis/plugin-sdk';
import { objects as o, startTestMesh, type TestMesh } from '@trellis/plugin-sdk/testing';
import selfsigned from '@trellis/plugin-certs-selfsigned';
import { AdsConnection, type SotwClient } from '../support/ads-client.ts';
import testBackend from '../controller/test-backend.ts';
import { runTrellis } from '../support/cli.ts';

/**
 * The operator commands against a running controller's admin API: proxy-status, proxy-config, check, policy
 * explain and version, with their output formats and exit codes. Two sidecars speak real ADS over mTLS: buyer
 * ACKs what it gets, store NACKs its clusters.
 */

let mesh: TestMesh;
const conns: AdsConnection[] = [];
const dir = mkdtempSync(join(tmpdir(), 'trellis-cli-op-'));

const run = (args: string[], tty = false) => runTrellis(args, { isTTY: tty });

const node = (sa: string): NodeIdentity => ({ uuid: randomUUID(), kind: 'sidecar', namespace: 'shop', serviceAccount: sa, trustDomain: 'cluster.local' });

async function connect(n: NodeIdentity): Promise<SotwClient> {
  const handle = mesh.resolve(controllerRef);
  const cert = await handle.certificates().bootstrap(n);
  const conn = new AdsConnection({ address: `127.0.0.1:${handle.ports().port}`, tls: { caPem: cert.trustBundlePem, certPem: cert.chainPem, keyPem: cert.privateKey.reveal() } });
  conns.push(conn);
  return conn.sotw();
}

const http = [{ kind: 'HTTPRouteGroup', name: 'all' }];

beforeAll(async () => {
  mesh = await startTestMesh({
    plugins: [{ definition: selfsigned, config: { stateDir: mkdtempSync(join(tmpdir(), 'trellis-cli-op-ca-')) } }, { definition: testBackend }],
    settings: { xds: { address: '127.0.0.1:0', debounce: { quiet: '5ms', max: '50ms' } } },
    objects: [
      ...['buyer', 'store'].flatMap((sa, i) => o.workload('shop', sa, `10.0.0.${i + 1}`)),
      o.routeGroup('shop', 'all', [{ name: 'any', pathRegex: '.*' }]),
      o.routeGroup('shop', 'broken', [{ name: 'bad', pathRegex: '(' }]),
      o.target('shop', 'buyer-to-store', 'store', ['buyer'], http),
    ],
  });
  const buyer = node('buyer');
  const b = await connect(buyer);
  b.send({ node: { id: formatNodeId(buyer) }, type_url: TypeUrls.cluster });
  const cds = await b.next(5000);
  b.send({ type_url: TypeUrls.cluster, version_info: cds.version_info, response_nonce: cds.nonce });
  b.send({ type_url: TypeUrls.secret, resource_names: ['service-cert:shop/buyer'] });
  const sds = await b.next(5000);
  b.send({ type_url: TypeUrls.secret, resource_names: ['service-cert:shop/buyer'], version_info: sds.version_info, response_nonce: sds.nonce });
  const store = node('store');
  const s = await connect(store);
  s.send({ node: { id: formatNodeId(store) }, type_url: TypeUrls.cluster });
  const scds = await s.next(5000);
  s.send({ type_url: TypeUrls.cluster, version_info: '', response_nonce: scds.nonce, error_detail: { code: 3, message: 'cluster shop/x: unknown field "bogus"' } });
  // The server records ACK and NACK asynchronously: wait until both are visible.
  const deadline = Date.now() + 5000;
  for (;;) {
    const list = (await mesh.getJson<{ nodeId: string; types: Record<string, { lastAcked?: unknown; lastNack?: unknown }> }[]>('/debug/proxies')).body;
    const ok = list.some((p) => p.types[TypeUrls.secret]?.lastAcked) && list.some((p) => p.types[TypeUrls.cluster]?.lastNack);
    if (ok || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 20));
  }
});

afterAll(async () => {
  for (const c of conns) c.close();
  await mesh?.stop();
});

describe('trellis proxy-status', () => {
  it('lists each proxy with its per-type state and the last NACK reason', async () => {
    const r = await run(['proxy-status', '--admin', mesh.adminUrl, '-o', 'json']);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.out) as { identity: string; types: Record<string, { state: string }>; lastNack?: { type: string; message: string } }[];
    const buyer = rows.find((x) => x.identity === 'shop/buyer');
    const store = rows.find((x) => x.identity === 'shop/store');
    expect(buyer?.types).toMatchObject({ CDS: { state: 'SYNCED' }, SDS: { state: 'SYNCED' } });
    expect(store?.types.CDS?.state).toBe('NACK');
    expect(store?.lastNack).toEqual(expect.objectContaining({ type: 'CDS', message: 'cluster shop/x: unknown field "bogus"' }));
  });

  it('prints a table on a terminal', async () => {
    const r = await run(['proxy-status', '--admin', mesh.adminUrl], true);
    expect(r.out.split('\n')[0]).toMatch(/^NAME\s+KIND\s+IDENTITY\s+CDS\s+LDS\s+EDS\s+RDS\s+SDS\s+LAST NACK$/);
    expect(r.out).toMatch(/shop\/store\s+NACK\s+-\s+-\s+-\s+-\s+CDS: cluster shop\/x: unknown field "bogus"/);
  });
});

describe('trellis proxy-config', () => {
  it('summarizes clusters as a table and prints full resources as JSON, with private keys redacted', async () => {
    const table = await run(['proxy-config', 'clusters', 'buyer', '--admin', mesh.adminUrl], true);
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/^NAME\s+TYPE\s+TLS\n/);
    expect(table.out).toContain('shop/store|8080');
    const secrets = await run(['proxy-config', 'secrets', 'buyer', '--admin', mesh.adminUrl, '-o', 'json']);
    expect(secrets.code).toBe(0);
    const list = JSON.parse(secrets.out) as { name: string; value: { tls_certificate: { private_key: unknown; certificate_chain: unknown } } }[];
    expect(list.map((x) => x.name)).toEqual(['service-cert:shop/buyer']);
    expect(list[0]?.value.tls_certificate.private_key).toBe('[redacted]');
    expect(secrets.out).not.toContain('PRIVATE KEY');
    expect(secrets.out).toContain('BEGIN CERTIFICATE');
  });

  it('fails with exit 1 for an unknown proxy and explains bootstrap is not kept (exit 2)', async () => {
    const none = await run(['proxy-config', 'listeners', 'nobody', '--admin', mesh.adminUrl]);
    expect(none).toMatchObject({ code: 1, err: expect.stringContaining('no connected proxy matches "nobody"') });
    const both = await run(['proxy-config', 'all', 'shop', '--admin', mesh.adminUrl]);
    expect(both).toMatchObject({ code: 1, err: expect.stringContaining('matches 2 proxies') });
    const boot = await run(['proxy-config', 'bootstrap', 'buyer', '--admin', mesh.adminUrl]);
    expect(boot.code).toBe(2);
  });
});

describe('trellis check', () => {
  it('fails on the NACK and the invalid policy, naming them, and passes the rest', async () => {
    const r = await run(['check', '--admin', mesh.adminUrl, '-o', 'json']);
    expect(r.code).toBe(1);
    const { ok, groups } = JSON.parse(r.out) as { ok: boolean; groups: { name: string; checks: { name: string; status: string; detail?: string[] }[] }[] };
    expect(ok).toBe(false);
    const failed = groups.flatMap((g) => g.checks.filter((c) => c.status === 'fail').map((c) => `${g.name}: ${c.name}: ${(c.detail ?? []).join(' | ')}`));
    expect(failed).toHaveLength(2);
    expect(failed[0]).toMatch(/^xds: no proxy rejected its config \(NACK\): .*shop\.cluster\.local: CDS cluster shop\/x: unknown field "bogus"$/);
    expect(failed[1]).toMatch(/^policies: no invalid policies: HTTPRouteGroup shop\/broken: .*pathRegex/);
    const names = groups.map((g) => g.name);
    expect(names).toEqual(['controller', 'plugins', 'sources', 'certificates', 'xds', 'policies']);
    expect(groups.find((g) => g.name === 'certificates')?.checks.map((c) => c.status)).toEqual(['pass', 'pass', 'pass']);
  });

  it('prints grouped √/× lines on a terminal', async () => {
    const r = await run(['check', '--admin', mesh.adminUrl], true);
    expect(r.out).toContain('xds\n---\n√ ADS is listening\n');
    expect(r.out).toContain('× no invalid policies\n    HTTPRouteGroup shop/broken');
    expect(r.out.trimEnd().endsWith('Status check results are ×')).toBe(true);
  });

  it('reports an unreachable controller as a failed check', async () => {
    const r = await run(['check', '--admin', 'http://127.0.0.1:1', '-o', 'json']);
    expect(r.code).toBe(1);
    expect(r.out).toContain('cannot reach the admin API at http://127.0.0.1:1');
  });

  it('--pre: checks the config file and that its listen addresses are free', async () => {
    const busy: Server = createServer();
    await new Promise<void>((res) => busy.listen(0, '127.0.0.1', res));
    const port = (busy.address() as { port: number }).port;
    const file = join(dir, 'pre.yaml');
    writeFileSync(file, `plugins:\n  certificates:\n    use: selfsigned\n    config: { stateDir: ${dir}/ca }\n  proxies:\n    - use: envoy\nadmin:\n  address: 127.0.0.1:${port}\nxds:\n  address: 127.0.0.1:0\n`);
    try {
      const r = await run(['check', '--pre', '--config', file, '-o', 'json']);
      const { groups } = JSON.parse(r.out) as { groups: { name: string; checks: { name: string; status: string; detail?: string[] }[] }[] };
      expect(groups.map((g) => g.name)).toEqual(['environment', 'config', 'ports']);
      expect(groups[1]?.checks.every((c) => c.status === 'pass')).toBe(true);
      expect(groups[2]?.checks).toEqual([{ name: `admin API address 127.0.0.1:${port} is free`, status: 'fail', detail: [`127.0.0.1:${port}: EADDRINUSE`] }]);
      expect(r.code).toBe(1);
    } finally {
      busy.close();
    }
  });
});

describe('trellis policy explain', () => {
  it('exits 0 when allowed, 1 when denied, 2 on bad input; prints the reasons', async () => {
    const yes = await run(['policy', 'explain', 'shop/buyer', 'shop/store', '--path', '/x', '--admin', mesh.adminUrl], true);
    expect(yes.code).toBe(0);
    expect(yes.out).toMatch(/^ALLOWED {2}shop\/buyer -> shop\/store:8080 \(http\) {2}GET \/x\n/);
    expect(yes.out).toContain('TrafficTarget shop/buyer-to-store admits shop/buyer to shop/store: HTTPRouteGroup shop/all match "any"');
    const no = await run(['policy', 'explain', 'shop/store', 'shop/buyer', '--admin', mesh.adminUrl, '-o', 'json']);
    expect(no.code).toBe(1);
    expect(JSON.parse(no.out)).toMatchObject({ allowed: false, permissive: false, reasons: expect.arrayContaining(['no TrafficTarget has destination shop/buyer with source shop/store']) });
    const bad = await run(['policy', 'explain', 'shop/ghost', 'shop/buyer', '--admin', mesh.adminUrl]);
    expect(bad).toMatchObject({ code: 2, err: expect.stringContaining('FROM: no Pod, ServiceAccount or Service shop/ghost') });
    const usage = await run(['policy', 'explain', 'shop/buyer']);
    expect(usage.code).toBe(2);
    // An external TO: no Egress names shop/buyer, and the default MeshConfig passes egress through.
    const ext = await run(['policy', 'explain', 'shop/buyer', '198.51.100.1:5432', '--admin', mesh.adminUrl], true);
    expect(ext.code).toBe(0);
    expect(ext.out).toMatch(/^ALLOWED {2}shop\/buyer -> 198\.51\.100\.1:5432 \(tcp\)/);
    expect(ext.out).toContain('  egress: MeshConfig passthrough\n');
    expect(ext.out).toContain('no Egress has this identity as a source; MeshConfig spec.traffic.enableEgress is on: passthrough to the original destination');
  });
});

describe('CLI conventions', () => {
  it('version prints the client and the server version', async () => {
    const r = await run(['version', '--admin', mesh.adminUrl, '-o', 'json']);
    expect(JSON.parse(r.out)).toMatchObject({ client: { version: CORE_VERSION }, server: { version: CORE_VERSION } });
    const off = await run(['version', '--admin', 'http://127.0.0.1:1'], true);
    expect(off.out).toContain(`Client version: ${CORE_VERSION}`);
    expect(off.out).toContain('Server version: unavailable');
  });

  it('takes the admin address from --config, rejects an unknown -o with exit 2, shows examples in --help', async () => {
    const file = join(dir, 'admin.yaml');
    writeFileSync(file, `plugins:\n  certificates:\n    use: selfsigned\n    config: { stateDir: ${dir}/ca2 }\n  proxies:\n    - use: envoy\nadmin:\n  address: ${mesh.adminUrl.replace('http://', '')}\n`);
    const viaConfig = await run(['version', '--config', file, '-o', 'yaml']);
    expect(viaConfig.out).toContain(`server:\n  version: ${CORE_VERSION}`);
    expect((await run(['proxy-status', '-o', 'xml', '--admin', mesh.adminUrl])).code).toBe(2);
    for (const cmd of [['check'], ['proxy-status'], ['proxy-config'], ['policy', 'explain'], ['version']]) {
      const h = await run([...cmd, '--help']);
      expect(h.code).toBe(0);
      expect(h.out).toContain('Examples:\n  trellis ');
    }
  });
});

describe('trellis support bundle', () => {
  it('writes one archive with versions, debug pages, proxy statuses and logs, and no private key', async () => {
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const log = join(dir, 'controller.log');
    writeFileSync(log, `{"level":30,"msg":"started"}\n{"level":50,"msg":"oops","detail":${JSON.stringify(key)}}\n`);
    const out = join(dir, 'bundle.tar.gz');
    const r = await run(['support', 'bundle', '--admin', mesh.adminUrl, '--logs', log, '--out', out, '-o', 'json']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const x = mkdtempSync(join(tmpdir(), 'trellis-bundle-x-'));
    execFileSync('tar', ['-xzf', out, '-C', x]);
    const root = join(x, 'trellis-support');
    const all = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? all(join(d, e.name)).map((f) => `${e.name}/${f}`) : [e.name]));
    const names = all(root).sort();
    for (const f of ['version.json', 'readyz.json', 'metrics.txt', 'proxy-status.json', 'debug/proxies.json', 'debug/certs.json', 'debug/policies.json', 'debug/ca.json', 'logs/0-controller.log'])
      expect(names).toContain(f);
    expect(names.filter((n) => n.startsWith('debug/proxies/'))).toHaveLength(2);
    expect(names).not.toContain('debug/explain.json');
    const text = names.map((n) => readFileSync(join(root, n), 'utf8')).join('\n');
    expect(JSON.parse(readFileSync(join(root, 'version.json'), 'utf8'))).toMatchObject({ server: { version: CORE_VERSION } });
    // The workload key the buyer proxy received over SDS, and the key in the log, are nowhere in the bundle.
    const buyerKey = (await mesh.resolve(controllerRef).certificates().workload({ namespace: 'shop', serviceAccount: 'buyer' })).privateKey.reveal();
    const body = (pem: string) => pem.split('\n').filter((l) => l && !l.startsWith('-----'));
    for (const line of [...body(buyerKey), ...body(key)]) expect(text).not.toContain(line);
    expect(text).not.toMatch(/PRIVATE KEY-----/);
    expect(readFileSync(join(root, 'logs/0-controller.log'), 'utf8')).toContain('[redacted private key]');
  });
});
