import { randomUUID } from 'node:crypto';
import { ExtensionTypeUrls, TypeUrls, formatNodeId, typedConfig } from '@trellis/plugin-sdk';
import type { NodeIdentity, XdsResource } from '@trellis/plugin-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Snapshot, SnapshotCache, XdsServer, createResourceFactory, messageType } from '@trellis/core';
import { AdsConnection } from '../support/ads-client.ts';

/**
 * Stand-ins (`XdsServerOptions.standIns`, the proxy backends' `standIn`) over both ADS variants: a subscribed
 * name the snapshot lacks gets the stand-in, a real resource of that name replaces it as soon as a snapshot
 * has one (and the stand-in comes back when it goes), a name the provider declines or fails on does not
 * exist, and a node kind without stand-ins gets none.
 */
const f = createResourceFactory({ strict: true });
const node = (kind: string): NodeIdentity => ({ uuid: randomUUID(), kind, serviceAccount: 'a', namespace: 't', trustDomain: 'cluster.local' });
const listener = (name: string, statPrefix: string): XdsResource =>
  f.create(TypeUrls.listener, name, {
    name,
    api_listener: { api_listener: typedConfig(ExtensionTypeUrls.httpConnectionManager, { stat_prefix: statPrefix, route_config: { name: 'r', virtual_hosts: [] } }) },
  });
const standInMemo = new Map<string, XdsResource>();
const provided: string[] = [];

const statPrefixOf = (value: Buffer | undefined): string => {
  const l = messageType(TypeUrls.listener).decode(value!) as unknown as { api_listener: { api_listener: { value: Buffer } } };
  const hcm = messageType(ExtensionTypeUrls.httpConnectionManager).decode(l.api_listener.api_listener.value) as unknown as { stat_prefix: string };
  return hcm.stat_prefix;
};

let cache: SnapshotCache;
let server: XdsServer;
let address: string;

beforeAll(async () => {
  cache = new SnapshotCache();
  server = new XdsServer({
    cache,
    plaintextAddress: '127.0.0.1:0',
    onNodeConnected: (n) => void cache.setSnapshot(cache.keyOf(n), new Snapshot([listener('real', 'real')])),
    standIns: (n, typeUrl, name) => {
      if (n.kind !== 'grpc' || typeUrl !== TypeUrls.listener) return undefined;
      if (name === 'boom') throw new Error('provider failed');
      if (name.startsWith('ghost')) return undefined;
      provided.push(name);
      let r = standInMemo.get(name);
      if (!r) standInMemo.set(name, (r = listener(name, 'stand-in')));
      return r;
    },
  });
  const { plaintextPort } = await server.start();
  address = `127.0.0.1:${plaintextPort}`;
});

afterAll(async () => {
  await server.stop(500);
});

describe('stand-ins for names a snapshot lacks', () => {
  it('SotW: answers the stand-in, lets a real resource replace it, and brings it back when the real one goes', async () => {
    const n = node('grpc');
    const s = new AdsConnection({ address }).sotw();
    s.send({ node: { id: formatNodeId(n) }, type_url: TypeUrls.listener, resource_names: ['real', 'x', 'ghost', 'boom'] });
    const r1 = await s.next();
    const byName = (r: typeof r1) => Object.fromEntries((r.resources ?? []).map((x) => [(messageType(TypeUrls.listener).decode(x.value!) as unknown as { name: string }).name, statPrefixOf(x.value)]));
    expect(byName(r1)).toEqual({ real: 'real', x: 'stand-in' });
    s.send({ type_url: TypeUrls.listener, resource_names: ['real', 'x', 'ghost', 'boom'], response_nonce: r1.nonce, version_info: r1.version_info });

    cache.setSnapshot(cache.keyOf(n), new Snapshot([listener('real', 'real'), listener('x', 'real')]));
    const r2 = await s.next();
    expect(byName(r2)).toEqual({ real: 'real', x: 'real' });
    s.send({ type_url: TypeUrls.listener, resource_names: ['real', 'x', 'ghost', 'boom'], response_nonce: r2.nonce, version_info: r2.version_info });

    cache.setSnapshot(cache.keyOf(n), new Snapshot([listener('real', 'real')]));
    const r3 = await s.next();
    expect(byName(r3)).toEqual({ real: 'real', x: 'stand-in' });
    expect(r3.version_info).toBe(r1.version_info);
    s.cancel();
  });

  it('delta: the stand-in is sent as the resource, replaced by a real one, and a declined name is removed', async () => {
    const n = node('grpc');
    const s = new AdsConnection({ address }).delta();
    s.send({ node: { id: formatNodeId(n) }, type_url: TypeUrls.listener, resource_names_subscribe: ['real', 'y', 'ghost-d'] });
    const r1 = await s.next();
    expect(Object.fromEntries((r1.resources ?? []).map((x) => [x.name, statPrefixOf(x.resource?.value)]))).toEqual({ real: 'real', y: 'stand-in' });
    expect(r1.removed_resources).toEqual(['ghost-d']);
    s.send({ type_url: TypeUrls.listener, response_nonce: r1.nonce });

    cache.setSnapshot(cache.keyOf(n), new Snapshot([listener('real', 'real'), listener('y', 'real')]));
    const r2 = await s.next();
    expect((r2.resources ?? []).map((x) => [x.name, statPrefixOf(x.resource?.value)])).toEqual([['y', 'real']]);
    s.send({ type_url: TypeUrls.listener, response_nonce: r2.nonce });

    cache.setSnapshot(cache.keyOf(n), new Snapshot([listener('real', 'real')]));
    const r3 = await s.next();
    expect((r3.resources ?? []).map((x) => [x.name, statPrefixOf(x.resource?.value)])).toEqual([['y', 'stand-in']]);
    expect(r3.removed_resources ?? []).toEqual([]);
    s.cancel();
  });

  it('gives a node kind whose backend has no stand-ins nothing but what exists', async () => {
    const before = provided.length;
    const s = new AdsConnection({ address }).sotw();
    s.send({ node: { id: formatNodeId(node('sidecar')) }, type_url: TypeUrls.listener, resource_names: ['real', 'z'] });
    const r = await s.next();
    expect((r.resources ?? []).map((x) => (messageType(TypeUrls.listener).decode(x.value!) as unknown as { name: string }).name)).toEqual(['real']);
    expect(provided.length).toBe(before);
    s.cancel();
  });
});
