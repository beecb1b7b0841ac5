import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controllerRef, xds } from '@trellis/core';
import { formatNodeId, TypeUrls, type KubeObject, type NodeIdentity } from '@trellis/plugin-sdk';
import { startTestMesh, type TestMesh } from '@trellis/plugin-sdk/testing';
import selfsigned from '@trellis/plugin-certs-selfsigned';
import envoy from '@trellis/plugin-proxy-envoy';
import { AdsConnection } from '../support/ads-client.ts';
import { validateEnvoyResource } from '@trellis/core';

/** The shipped example (examples/bookstore) through the real catalog and controller, every identity's config checked. */

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const dir = fileURLToPath(new URL('../../examples/bookstore', import.meta.url));

function exampleObjects(): KubeObject[] {
  const walk = (d: string): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : /\.ya?ml$/.test(e.name) ? [join(d, e.name)] : []));
  return walk(dir).flatMap((f) => parseAllDocuments(readFileSync(f, 'utf8')).map((doc) => doc.toJS() as KubeObject));
}

function decode(typeUrl: string, body: Uint8Array | undefined): Obj {
  const type = xds.messageType(typeUrl);
  return type.toObject(type.decode(body ?? new Uint8Array(0)), { json: true, enums: String, longs: Number, bytes: String });
}

describe('examples/bookstore through the Envoy backend', () => {
  let mesh: TestMesh;
  const configs = new Map<string, Map<string, Obj[]>>();

  beforeAll(async () => {
    mesh = await startTestMesh({
      plugins: [{ definition: selfsigned, config: { stateDir: mkdtempSync(join(tmpdir(), 'trellis-envoy-book-')) } }, { definition: envoy }],
      settings: { xds: { address: '127.0.0.1:0', debounce: { quiet: '10ms', max: '100ms' } } },
      objects: exampleObjects(),
    });
    const handle = mesh.resolve(controllerRef);
    for (const [namespace, serviceAccount] of [
      ['bookbuyer', 'bookbuyer'],
      ['bookstore', 'bookstore-v1'],
      ['bookstore', 'bookstore-v2'],
      ['bookthief', 'bookthief'],
      ['bookwarehouse', 'bookwarehouse'],
    ] as const) {
      const node: NodeIdentity = { uuid: randomUUID(), kind: 'sidecar', namespace, serviceAccount, trustDomain: 'cluster.local' };
      const cert = await handle.certificates().bootstrap(node);
      const conn = new AdsConnection({ address: `127.0.0.1:${handle.ports().port}`, tls: { caPem: cert.trustBundlePem, certPem: cert.chainPem, keyPem: cert.privateKey.reveal() } });
      const stream = conn.sotw();
      const fetch = async (typeUrl: string, names: string[] = [], first = false) => {
        stream.send({ ...(first ? { node: { id: formatNodeId(node) } } : {}), type_url: typeUrl, resource_names: names });
        const r = await stream.next(5000);
        stream.send({ type_url: typeUrl, resource_names: names, version_info: r.version_info, response_nonce: r.nonce });
        return (r.resources ?? []).map((a) => decode(typeUrl, a.value));
      };
      const byType = new Map<string, Obj[]>();
      const clusters = await fetch(TypeUrls.cluster, [], true);
      byType.set(TypeUrls.cluster, clusters);
      byType.set(TypeUrls.endpoint, await fetch(TypeUrls.endpoint, clusters.filter((c) => c.type === 'EDS').map((c) => c.name as string)));
      const listeners = await fetch(TypeUrls.listener);
      byType.set(TypeUrls.listener, listeners);
      byType.set(TypeUrls.route, await fetch(TypeUrls.route, [...new Set(listeners.flatMap((l) => xds.rdsNamesOf(l)))]));
      byType.set(TypeUrls.secret, await fetch(TypeUrls.secret, ['service-cert', 'root-cert-for-mtls-inbound']));
      configs.set(`${namespace}/${serviceAccount}`, byType);
      stream.cancel();
      conn.close();
    }
  });
  afterAll(async () => {
    await mesh?.stop();
  });

  const get = (who: string, typeUrl: string): Obj[] => configs.get(who)?.get(typeUrl) ?? [];

  it('gives every identity strictly valid resources whose EDS and RDS references resolve', () => {
    expect([...configs.keys()]).toHaveLength(5);
    for (const [who, byType] of configs) {
      for (const [typeUrl, list] of byType) {
        for (const r of list) expect([who, r.name ?? r.cluster_name, validateEnvoyResource(typeUrl, r)]).toEqual([who, r.name ?? r.cluster_name, []]);
      }
      const eds = get(who, TypeUrls.cluster).filter((c) => c.type === 'EDS').map((c) => c.name as string).sort();
      expect(get(who, TypeUrls.endpoint).map((e) => e.cluster_name as string).sort()).toEqual(eds);
      const rds = [...new Set(get(who, TypeUrls.listener).flatMap((l) => xds.rdsNamesOf(l)))].sort();
      expect(get(who, TypeUrls.route).map((r) => r.name as string).sort()).toEqual(rds);
      expect(get(who, TypeUrls.secret)).toHaveLength(2);
    }
  });

  it('bookbuyer splits bookstore 50/50 over v1 and v2', () => {
    const routes = get('bookbuyer/bookbuyer', TypeUrls.route);
    const vh = routes.flatMap((r) => r.virtual_hosts as Obj[]).find((v) => v.name === 'outbound_virtual-host|bookstore.bookstore.svc.cluster.local');
    expect(vh?.domains).toContain('bookstore.bookstore.svc.cluster.local:14001');
    // Decoded from the wire, so wrapper types keep their message form ({ value }).
    expect(vh?.routes[0].route.weighted_clusters).toEqual({
      clusters: [
        { name: 'bookstore/bookstore-v1|14011', weight: { value: 50 } },
        { name: 'bookstore/bookstore-v2|14012', weight: { value: 50 } },
      ],
      total_weight: { value: 100 },
    });
  });

  it('bookthief reaches nothing in the mesh, and bookstore-v1 admits bookbuyer but not bookthief', () => {
    expect(get('bookthief/bookthief', TypeUrls.cluster).filter((c) => c.type === 'EDS')).toEqual([]);
    const inbound = get('bookstore/bookstore-v1', TypeUrls.listener).find((l) => l.name === 'inbound-listener');
    const text = JSON.stringify(inbound) + JSON.stringify(get('bookstore/bookstore-v1', TypeUrls.route));
    expect(text).toContain('spiffe://cluster.local/ns/bookbuyer/sa/bookbuyer');
    expect(text).not.toContain('bookthief');
  });
});
