import { describe, expect, it } from 'vitest';
import { Catalog, MeshStore, validateEnvoyResource, xds } from '@trellis/core';
import { TypeUrls } from '@trellis/plugin-sdk';
import type { Identity, KubeObject, XdsResource } from '@trellis/plugin-sdk';
import { MemoryBus, MemoryLogger, MemoryMetrics } from '@trellis/plugin-sdk/testing';
import { pod, routeGroup, slice, svc, target, tcpRoute, workload } from '@trellis/plugin-sdk/testing/objects';
import { ListenerNames, createEnvoyGenerator } from '@trellis/plugin-proxy-envoy';
import { createGrpcGenerator, serverListenerName } from '@trellis/plugin-proxy-grpc';
import { placeholderCertificate } from '../support/placeholder-cert.ts';

/**
 * SMI: a plain TCP port is reachable only through a TCPRoute rule. HTTPRouteGroup rules grant HTTP routes (and
 * the network access those routes need on HTTP ports), never TCP ports; a rule whose route group is missing
 * grants nothing. Checked end to end: catalog view, Envoy network RBAC per chain, gRPC server RBAC.
 */

const TD = 'cluster.local';
const cert = placeholderCertificate;
const B: Identity = { namespace: 't', serviceAccount: 'b' };

function mesh(extra: KubeObject[]): { store: MeshStore; catalog: Catalog } {
  const store = new MeshStore({ bus: new MemoryBus(), logger: new MemoryLogger(), metrics: new MemoryMetrics() });
  const sink = store.sinkFor('test');
  for (const o of [
    ...workload('t', 'a', '10.0.0.1'),
    ...workload('t', 'b', '10.0.0.2'),
    ...workload('t', 'c', '10.0.0.3'),
    ...workload('t', 'd', '10.0.0.4'),
    svc('t', 'b-db', [{ port: 5432, name: 'tcp-db' }], { app: 'b' }),
    slice('t', 'b-db', [{ ip: '10.0.0.2', pod: 'b-0' }], [{ name: 'tcp-db', port: 5432 }]),
    pod('t', 'b-0', 'b', '10.0.0.2', { app: 'b' }),
    routeGroup('t', 'rg', [{ name: 'all', pathRegex: '.*' }]),
    ...extra,
  ])
    sink.apply(o);
  return { store, catalog: new Catalog(store) };
}

const HTTP_ONLY = target('t', 'http-only', 'b', ['a'], [{ kind: 'HTTPRouteGroup', name: 'rg' }]);
const MISSING_GROUP = target('t', 'missing-group', 'b', ['d'], [{ kind: 'HTTPRouteGroup', name: 'nope' }]);
const TCP = [tcpRoute('t', 'db', [5432]), target('t', 'db-access', 'b', ['c'], [{ kind: 'TCPRoute', name: 'db' }])];

type Obj = Record<string, unknown>;
/** Whether one RBAC permission admits a connection to `port`. */
function permits(perm: Obj, port: number): boolean {
  if (perm.any === true) return true;
  if (perm.destination_port !== undefined) return perm.destination_port === port;
  const or = perm.or_rules as { rules: Obj[] } | undefined;
  if (or) return or.rules.some((r) => permits(r, port));
  throw new Error(`unexpected permission ${JSON.stringify(perm)}`);
}

/** Names of the network RBAC policies that admit connections on the inbound chain of `port` (which must exist). */
function envoyChainPolicies(resources: readonly XdsResource[], port: number): string[] {
  const listener = resources.find((r) => r.typeUrl === TypeUrls.listener && r.name === ListenerNames.inbound)?.value as { filter_chains: Obj[] } | undefined;
  // A UInt32Value: the typed inputs write it as `{ value }`.
  const portOf = (v: unknown) => (typeof v === 'object' && v !== null ? (v as { value?: unknown }).value : v);
  const chain = listener?.filter_chains.find((c) => portOf((c.filter_chain_match as Obj).destination_port) === port);
  expect(chain, `inbound chain for ${port}`).toBeDefined();
  const rbac = (chain?.filters as Obj[]).find((f) => f.name === 'envoy.filters.network.rbac');
  const policies = ((rbac?.typed_config as Obj).rules as Obj).policies as Record<string, { permissions: Obj[] }>;
  return Object.entries(policies)
    .filter(([, p]) => p.permissions.some((perm) => permits(perm, port)))
    .map(([name]) => name)
    .sort();
}

/** Names of the RBAC policies of the gRPC server listener on 10.0.0.2:`port`. */
function grpcPolicies(resources: readonly XdsResource[], port: number): string[] {
  const l = resources.find((r) => r.typeUrl === TypeUrls.listener && r.name === serverListenerName('10.0.0.2', port))?.value;
  expect(l, `server listener for ${port}`).toBeDefined();
  const rbac = l as { filter_chains: { filters: { typed_config: { http_filters: { name: string; typed_config: { rules: { policies: Obj } } }[] } }[] }[] };
  const filter = rbac.filter_chains[0]?.filters[0]?.typed_config.http_filters.find((f) => f.name === 'envoy.filters.http.rbac');
  return Object.keys(filter?.typed_config.rules.policies ?? {}).sort();
}

function generate(catalog: Catalog): { envoy: XdsResource[]; grpc: XdsResource[] } {
  const view = catalog.viewFor(B);
  const strict = xds.createResourceFactory({ strict: true });
  const envoy = createEnvoyGenerator().generate(view, { node: { uuid: '38cf2479-bfea-4c1e-a961-f8f8e2b2e8cb', kind: 'sidecar', trustDomain: TD, ...B }, resources: strict, certificate: cert });
  const grpc = createGrpcGenerator()(view, { resources: strict });
  for (const r of [...envoy, ...grpc]) expect(validateEnvoyResource(r.typeUrl, r.value), r.name).toEqual([]);
  return { envoy, grpc };
}

describe('HTTP rules do not open TCP ports', () => {
  it('an HTTPRouteGroup-only TrafficTarget admits its sources on HTTP ports only', () => {
    const { catalog } = mesh([HTTP_ONLY, ...TCP]);
    const view = catalog.viewFor(B);
    const db = view.inbound.find((p) => p.service.name === 'b-db')!;
    const allowsDb = db.tcpPolicies.filter((p) => p.ports === 'any' || p.ports.includes(5432)).map((p) => p.name);
    expect(allowsDb).toEqual(['t/db-access']);
    const web = view.inbound.find((p) => p.service.name === 'b')!;
    expect(web.tcpPolicies.filter((p) => p.ports === 'any' || p.ports.includes(8080)).map((p) => p.name)).toEqual(['t/http-only']);

    const { envoy, grpc } = generate(catalog);
    expect(envoyChainPolicies(envoy, 5432)).toEqual(['t/db-access']);
    expect(envoyChainPolicies(envoy, 8080)).toEqual(['t/http-only']);
    expect(grpcPolicies(grpc, 5432)).toEqual(['t/b-db|5432|tcp:t/db-access']);
  });

  it('a TrafficTarget whose HTTPRouteGroup is missing grants nothing, anywhere, and says why', () => {
    const { catalog, store } = mesh([MISSING_GROUP]);
    const view = catalog.viewFor(B);
    for (const p of view.inbound) {
      expect(p.routes, p.localClusterName).toEqual([]);
      expect(p.tcpPolicies.filter((x) => x.ports === 'any' || x.ports.length > 0), p.localClusterName).toEqual([]);
    }
    const { envoy, grpc } = generate(catalog);
    expect(envoyChainPolicies(envoy, 5432)).toEqual([]);
    expect(envoyChainPolicies(envoy, 8080)).toEqual([]);
    expect(grpcPolicies(grpc, 5432)).toEqual([]);
    expect(store.policyStatuses().find((p) => p.name === 'missing-group')).toMatchObject({
      status: 'accepted',
      reason: 'spec.rules[0]: HTTPRouteGroup t/nope does not exist (the rule grants nothing)',
    });
  });

  it('a TrafficTarget with both HTTP and TCP rules reaches the HTTP port too (its network RBAC covers it)', () => {
    const { catalog } = mesh([tcpRoute('t', 'db', [5432]), target('t', 'both', 'b', ['a'], [{ kind: 'HTTPRouteGroup', name: 'rg' }, { kind: 'TCPRoute', name: 'db' }])]);
    const { envoy } = generate(catalog);
    expect(envoyChainPolicies(envoy, 8080)).toEqual(['t/both']);
    expect(envoyChainPolicies(envoy, 5432)).toEqual(['t/both']);
  });
});
