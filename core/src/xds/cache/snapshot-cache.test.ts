import { ExtensionTypeUrls, TypeUrls, typedConfig } from '@trellis/plugin-sdk';
import type { NodeIdentity } from '@trellis/plugin-sdk';
import { describe, expect, it } from 'vitest';
import { createResourceFactory } from '../resources/factory.ts';
import { Snapshot, aggregateVersion } from './snapshot.ts';
import { SnapshotCache, defaultNodeHash } from './snapshot-cache.ts';

const f = createResourceFactory();
const HCM = ExtensionTypeUrls.httpConnectionManager;
const cluster = (name: string, service?: string) =>
  f.create(TypeUrls.cluster, name, { name, type: 'EDS', eds_cluster_config: { eds_config: { ads: {} }, ...(service ? { service_name: service } : {}) } });
const cla = (name: string) => f.create(TypeUrls.endpoint, name, { cluster_name: name, endpoints: [] });
const listener = (name: string, route: string) =>
  f.create(TypeUrls.listener, name, {
    name,
    api_listener: { api_listener: typedConfig(HCM, { stat_prefix: name, rds: { route_config_name: route, config_source: { ads: {} } } }) },
  });
const route = (name: string) => f.create(TypeUrls.route, name, { name, virtual_hosts: [] });

const node: NodeIdentity = { uuid: '0b4e2a9c-1111-4222-8333-444455556666', kind: 'sidecar', namespace: 'ns', serviceAccount: 'sa', trustDomain: 'cluster.local' };

describe('SnapshotCache', () => {
  it('keys nodes by kind and identity by default', () => {
    expect(defaultNodeHash(node)).toBe('sidecar|ns/sa');
    expect(new SnapshotCache({ nodeHash: (n) => n.uuid }).keyOf(node)).toBe(node.uuid);
  });

  it('rejects a snapshot with a missing EDS or RDS resource and keeps the last good one', () => {
    const cache = new SnapshotCache();
    const good = new Snapshot([cluster('a'), cla('a'), listener('l', 'r'), route('r')]);
    expect(cache.setSnapshot('k', good)).toEqual({ ok: true, changed: true });
    const bad = new Snapshot([cluster('a', 'svc-a'), cla('a'), listener('l', 'r2')]);
    const res = cache.setSnapshot('k', bad);
    expect(res.ok).toBe(false);
    expect(res.ok ? [] : res.problems).toEqual([
      'cluster "a" references ClusterLoadAssignment "svc-a", which the snapshot does not contain',
      'listener "l" references RouteConfiguration "r2", which the snapshot does not contain',
    ]);
    expect(cache.getSnapshot('k')).toBe(good);
  });

  it('notifies watchers on change only, and shares resources by reference', () => {
    const cache = new SnapshotCache();
    const seen: Snapshot[] = [];
    const stop = cache.watch('k', (s) => seen.push(s));
    const shared = cla('a');
    const s1 = new Snapshot([cluster('a'), shared]);
    const s2 = new Snapshot([cluster('a'), shared, cluster('b', 'a')]);
    cache.setSnapshot('k', s1);
    cache.setSnapshot('k', s1);
    cache.setSnapshot('other', s2);
    cache.setSnapshot('k', s2);
    stop();
    cache.setSnapshot('k', s1);
    expect(seen).toEqual([s1, s2]);
    expect(s1.get(TypeUrls.endpoint, 'a')).toBe(s2.get(TypeUrls.endpoint, 'a'));
    expect(cache.watcherCount('k')).toBe(0);
  });

  it('derives aggregate versions from content', () => {
    const v1 = aggregateVersion(new Snapshot([cluster('a'), cluster('b')]).resources(TypeUrls.cluster));
    const v2 = aggregateVersion(new Snapshot([cluster('b'), cluster('a')]).resources(TypeUrls.cluster));
    const v3 = aggregateVersion(new Snapshot([cluster('a')]).resources(TypeUrls.cluster));
    expect(v1).toBe(v2);
    expect(v3).not.toBe(v1);
  });
});
