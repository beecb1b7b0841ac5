/** The shipped example (examples/bookstore) loads cleanly and lets bookbuyer buy while keeping bookthief out. */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '@trellis/plugin-sdk';
import { MeshStore } from '../store/index.ts';
import { fakeDeps } from '../store/test-fakes.ts';
import { Catalog } from './catalog.ts';
import { requestMatches } from './routes.ts';

const dir = fileURLToPath(new URL('../../../examples/bookstore', import.meta.url));

function load(): { store: MeshStore; catalog: Catalog } {
  const store = new MeshStore(fakeDeps());
  const sink = store.sinkFor('file');
  const walk = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : /\.ya?ml$/.test(e.name) ? [join(d, e.name)] : []));
  for (const f of walk(dir)) for (const doc of parseAllDocuments(readFileSync(f, 'utf8'))) sink.apply(doc.toJS() as KubeObject, { source: 'file', file: f });
  return { store, catalog: new Catalog(store) };
}

const id = (namespace: string, serviceAccount: string) => ({ namespace, serviceAccount });

describe('examples/bookstore', () => {
  it('loads without errors and every policy is accepted', () => {
    const { store } = load();
    expect(store.sourceErrors()).toEqual([]);
    expect(store.ignoredObjects()).toEqual([]);
    expect(store.policyStatuses().map((p) => `${p.kind}/${p.namespace}/${p.name}=${p.status}`)).toEqual([
      'HTTPRouteGroup/bookstore/bookstore-service-routes=accepted',
      'HTTPRouteGroup/bookwarehouse/bookwarehouse-service-routes=accepted',
      'MeshConfig/trellis-system/trellis-mesh-config=accepted',
      'TrafficSplit/bookstore/bookstore-split=accepted',
      'TrafficTarget/bookstore/bookstore-v1=accepted',
      'TrafficTarget/bookstore/bookstore-v2=accepted',
      'TrafficTarget/bookwarehouse/bookwarehouse=accepted',
    ]);
  });

  it('lets bookbuyer reach bookstore (split 50/50 over v1/v2 on distinct 127.0.0.1 ports) and keeps bookthief out', () => {
    const { catalog } = load();
    expect(catalog.identities().map((i) => `${i.namespace}/${i.serviceAccount}`)).toEqual([
      'bookbuyer/bookbuyer',
      'bookstore/bookstore-v1',
      'bookstore/bookstore-v2',
      'bookthief/bookthief',
      'bookwarehouse/bookwarehouse',
    ]);
    const buyer = catalog.viewFor(id('bookbuyer', 'bookbuyer'));
    expect(buyer.outbound.map((o) => o.clusterName)).toEqual(['bookstore/bookstore|14011', 'bookstore/bookstore-v1|14011', 'bookstore/bookstore-v2|14012']);
    const root = buyer.outbound.find((o) => o.service.name === 'bookstore')!;
    expect(root.service.protocol).toBe('grpc');
    expect(root.endpoints.map((e) => `${e.ip}:${e.port} ${e.identity?.serviceAccount}`)).toEqual(['127.0.0.1:14011 bookstore-v1', '127.0.0.1:14012 bookstore-v2']);
    expect(root.split?.backends.map((b) => [b.clusterName, b.weight])).toEqual([
      ['bookstore/bookstore-v1|14011', 50],
      ['bookstore/bookstore-v2|14012', 50],
    ]);
    expect(root.hostnames).toContain('bookstore.bookstore.svc.cluster.local:14001');

    expect(catalog.viewFor(id('bookthief', 'bookthief')).outbound).toEqual([]);

    const v1 = catalog.viewFor(id('bookstore', 'bookstore-v1'));
    expect(v1.outbound.map((o) => o.clusterName)).toEqual(['bookwarehouse/bookwarehouse|14021']);
    expect(v1.localEndpoints.map((e) => `${e.ip}:${e.port}`)).toEqual(['127.0.0.1:14011']);
    const inbound = v1.inbound.find((p) => p.service.name === 'bookstore-v1')!;
    const buy = { path: '/bookstore.Bookstore/BuyBook', method: 'POST' };
    const allowed = (who: string) => inbound.routes.some((r) => requestMatches(r.match, buy) && r.principals !== 'any' && r.principals.some((p) => p.serviceAccount === who));
    expect(allowed('bookbuyer')).toBe(true);
    expect(allowed('bookthief')).toBe(false);
    expect(inbound.tcpPolicies.map((p) => p.name)).toEqual(['bookstore/bookstore-v1']);
  });
});
