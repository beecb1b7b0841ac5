import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fjp, { type Operation } from 'fast-json-patch';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controllerRef, xds, type Snapshot } from '@trellis/core';
import { formatNodeId, TypeUrls, type KubeObject, type NodeIdentity } from '@trellis/plugin-sdk';
import { objects as o, startTestMesh, type TestMesh } from '@trellis/plugin-sdk/testing';
import selfsigned from '@trellis/plugin-certs-selfsigned';
import envoy from '@trellis/plugin-proxy-envoy';
import { AdsConnection } from '../support/ads-client.ts';
import { runTrellis } from '../support/cli.ts';

/**
 * `trellis policy diff` against a running controller with the real Envoy generator: the predicted changes
 * (per proxy family: resources added, removed, changed with RFC 6902 field operations) are exactly what
 * applying the change then does to the snapshots the controller serves; invalid objects are reported with the
 * field and why, and the dry run changes nothing.
 */

let mesh: TestMesh;
const conns: AdsConnection[] = [];
const dir = mkdtempSync(join(tmpdir(), 'trellis-diff-'));
const SAS = ['buyer', 'store', 'audit'] as const;

interface Diff {
  proxies: { key: string; identity: string; added: { type: string; name: string }[]; removed: { type: string; name: string }[]; changed: { type: string; name: string; diff: Operation[] }[] }[];
  unchanged: string[];
  validation: { object: string; status: string; reason: string }[];
}

const run = (args: string[]) => runTrellis(args);

function file(name: string, objs: KubeObject[]): string {
  const p = join(dir, name);
  writeFileSync(p, objs.map((x) => stringify(x)).join('---\n'));
  return p;
}

const handle = () => mesh.resolve(controllerRef);
const snapshots = (): Map<string, Snapshot> => new Map(handle().cache.keys().map((k) => [k, handle().cache.getSnapshot(k) as Snapshot]));
const short = (t: string) => t.replace(/^.*\./, '');

/** What really changed between two snapshot sets, in the diff's shape (field operations checked separately). */
function actual(before: Map<string, Snapshot>, after: Map<string, Snapshot>) {
  const out: Record<string, { added: string[]; removed: string[]; changed: string[] }> = {};
  for (const [key, a] of after) {
    const b = before.get(key);
    const r = { added: [] as string[], removed: [] as string[], changed: [] as string[] };
    for (const t of new Set([...(b?.typeUrls() ?? []), ...a.typeUrls()])) {
      const bm = b?.byName(t) ?? new Map();
      const am = a.byName(t);
      for (const [n, x] of am) if (!bm.has(n)) r.added.push(`${short(t)} ${n}`);
      else if (bm.get(n).version !== x.version) r.changed.push(`${short(t)} ${n}`);
      for (const n of bm.keys()) if (!am.has(n)) r.removed.push(`${short(t)} ${n}`);
    }
    if (r.added.length + r.removed.length + r.changed.length) out[key] = { added: r.added.sort(), removed: r.removed.sort(), changed: r.changed.sort() };
  }
  return out;
}

beforeAll(async () => {
  mesh = await startTestMesh({
    plugins: [{ definition: selfsigned, config: { stateDir: mkdtempSync(join(tmpdir(), 'trellis-diff-ca-')) } }, { definition: envoy }],
    settings: { xds: { address: '127.0.0.1:0', debounce: { quiet: '5ms', max: '50ms' } } },
    objects: [
      ...SAS.flatMap((sa, i) => o.workload('shop', sa, `10.0.0.${i + 1}`)),
      o.routeGroup('shop', 'books', [{ name: 'all', pathRegex: '/books.*', methods: ['GET'] }]),
      o.target('shop', 'buyer-to-store', 'store', ['buyer'], [{ kind: 'HTTPRouteGroup', name: 'books' }]),
    ],
  });
  for (const sa of SAS) {
    const n: NodeIdentity = { uuid: randomUUID(), kind: 'sidecar', namespace: 'shop', serviceAccount: sa, trustDomain: 'cluster.local' };
    const cert = await handle().certificates().bootstrap(n);
    const conn = new AdsConnection({ address: `127.0.0.1:${handle().ports().port}`, tls: { caPem: cert.trustBundlePem, certPem: cert.chainPem, keyPem: cert.privateKey.reveal() } });
    conns.push(conn);
    const s = conn.sotw();
    s.send({ node: { id: formatNodeId(n) }, type_url: TypeUrls.cluster });
    await s.next(5000);
  }
  await handle().controller().settle();
});

afterAll(async () => {
  for (const c of conns) c.close();
  await mesh?.stop();
});

describe('trellis policy diff', () => {
  it('predicts exactly the resource changes that applying the files then makes, field by field', async () => {
    const change = [
      o.routeGroup('shop', 'books', [{ name: 'all', pathRegex: '/books/[0-9]+', methods: ['GET', 'POST'] }]),
      o.target('shop', 'buyer-to-audit', 'audit', ['buyer'], [{ kind: 'HTTPRouteGroup', name: 'books' }]),
    ];
    const before = snapshots();
    const r = await run(['policy', 'diff', file('change.yaml', change), '--admin', mesh.adminUrl, '-o', 'json']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const predicted = JSON.parse(r.out) as Diff;
    expect(predicted.validation).toEqual([]);
    // The dry run changed nothing.
    expect(snapshots()).toEqual(before);

    for (const obj of change) mesh.apply(obj);
    await handle().controller().settle();
    const after = snapshots();
    const real = actual(before, after);
    expect(Object.keys(real).length).toBeGreaterThan(0);
    const shaped = Object.fromEntries(
      predicted.proxies.map((p) => [
        p.key,
        { added: p.added.map((a) => `${a.type} ${a.name}`).sort(), removed: p.removed.map((a) => `${a.type} ${a.name}`).sort(), changed: p.changed.map((a) => `${a.type} ${a.name}`).sort() },
      ]),
    );
    expect(shaped).toEqual(real);
    expect(predicted.unchanged.sort()).toEqual([...after.keys()].filter((k) => !(k in real)).sort());
    // Field level: the predicted operations turn each old resource into the new one.
    for (const p of predicted.proxies)
      for (const c of p.changed) {
        const type = [...after.get(p.key)!.typeUrls()].find((t) => short(t) === c.type) as string;
        const old = xds.redactResource(before.get(p.key)!.get(type, c.name)!.value);
        const now = xds.redactResource(after.get(p.key)!.get(type, c.name)!.value);
        expect(fjp.applyPatch(structuredClone(old), c.diff.map(({ op, path, value, from }: Operation & { value?: unknown; from?: string }) => ({ op, path, value, from }) as Operation)).newDocument).toEqual(now);
      }
    // The readable form names the proxies and the regex change.
    const text = await run(['policy', 'diff', file('again.yaml', [o.routeGroup('shop', 'books', [{ name: 'all', pathRegex: '/books', methods: ['GET'] }])]), '--admin', mesh.adminUrl, '-o', 'table']);
    expect(text.out).toMatch(/^shop\/store \(sidecar\)$/m);
    expect(text.out).toContain('"/books/[0-9]+" -> "/books"');
  });

  it('reports what the store would reject, with the field and why, and a deletion', async () => {
    const bad = o.routeGroup('shop', 'broken', [{ name: 'x', pathRegex: '(' }]);
    const r = await run(['policy', 'diff', file('bad.yaml', [bad]), '--delete', file('del.yaml', [o.target('shop', 'buyer-to-store', 'store', ['buyer'], [])]), '--admin', mesh.adminUrl, '-o', 'json']);
    expect(r.code).toBe(2);
    const d = JSON.parse(r.out) as Diff;
    expect(d.validation).toEqual([{ object: 'HTTPRouteGroup shop/broken', status: 'invalid', reason: expect.stringContaining('pathRegex') }]);
    // Deleting buyer-to-store takes store's inbound route for buyer away (and buyer's cluster to store).
    const store = d.proxies.find((p) => p.identity === 'shop/store');
    expect(store?.changed.length).toBeGreaterThan(0);
    const buyer = d.proxies.find((p) => p.identity === 'shop/buyer');
    expect(buyer?.removed.map((x) => x.name)).toContain('shop/store|8080');
  });

  it('refuses a malformed body with 400 and unreadable files with exit 2', async () => {
    const res = await fetch(`${mesh.adminUrl}/debug/diff`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apply: 'x' }) });
    expect(res.status).toBe(400);
    const p = join(dir, 'broken.yaml');
    writeFileSync(p, 'a: [\n');
    expect((await run(['policy', 'diff', p, '--admin', mesh.adminUrl])).code).toBe(2);
  });
});
