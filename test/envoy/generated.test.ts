import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parse } from 'yaml';
import { xds } from '@trellis/core';
import { TypeUrls } from '@trellis/plugin-sdk';
import type { HttpMatch, Identity, InboundPort, MeshEndpoint, MeshServicePort, OutboundService, Protocol, ProxyView, XdsResource } from '@trellis/plugin-sdk';
import { createEnvoyGenerator, envoyBootstrap } from '@trellis/plugin-proxy-envoy';
import { validateBootstrap, validateEnvoyResource } from '@trellis/core';
import { placeholderCertificate } from '../support/placeholder-cert.ts';

const TD = 'cluster.local';
const cert = placeholderCertificate;
const nodeOf = (id: Identity) => ({ uuid: '38cf2479-bfea-4c1e-a961-f8f8e2b2e8cb', kind: 'sidecar', trustDomain: TD, ...id });

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every value under `key` anywhere in the object tree. */
function collect(v: unknown, key: string, out: unknown[] = []): unknown[] {
  if (Array.isArray(v)) for (const x of v) collect(x, key, out);
  else if (isObj(v))
    for (const [k, x] of Object.entries(v)) {
      if (k === key) out.push(x);
      collect(x, key, out);
    }
  return out;
}

/** Strict + PGV problems of every resource, and references that point nowhere (EDS, RDS, SDS). */
function problemsOf(resources: readonly XdsResource[]): string[] {
  const problems: string[] = [];
  for (const r of resources) for (const p of validateEnvoyResource(r.typeUrl, r.value)) problems.push(`${r.name}: ${p}`);
  problems.push(...xds.checkConsistency(new xds.Snapshot(resources)));
  const secrets = new Set(resources.filter((r) => r.typeUrl === TypeUrls.secret).map((r) => r.name));
  for (const r of resources) {
    for (const ref of [...collect(r.value, 'tls_certificate_sds_secret_configs').flat(), ...collect(r.value, 'validation_context_sds_secret_config')]) {
      const name = isObj(ref) ? ref.name : undefined;
      if (typeof name === 'string' && !secrets.has(name)) problems.push(`${r.name}: SDS secret "${name}" is not in the snapshot`);
    }
  }
  problems.push(...envoyRuntimeChecks(resources));
  return problems;
}

/** What Envoy checks beyond the protos when it loads config: unique chain matches, domains, virtual host names. */
function envoyRuntimeChecks(resources: readonly XdsResource[]): string[] {
  const problems: string[] = [];
  const dup = (what: string, keys: string[]) => {
    const seen = new Set<string>();
    for (const k of keys) {
      if (seen.has(k)) problems.push(`${what}: duplicate ${k}`);
      seen.add(k);
    }
  };
  for (const r of resources) {
    const v = r.value as { filter_chains?: { name?: string; filter_chain_match?: { destination_port?: { value?: number }; prefix_ranges?: { address_prefix: string }[]; server_names?: string[] } }[]; virtual_hosts?: { name: string; domains: string[] }[] };
    if (r.typeUrl === TypeUrls.listener) {
      const chains = v.filter_chains ?? [];
      dup(`${r.name} chain names`, chains.map((c) => c.name ?? ''));
      // One key per (port, address or server name) combination a chain matches.
      dup(`${r.name} chain matches`, chains.flatMap((c) => {
        const m = c.filter_chain_match ?? {};
        const parts = [...(m.prefix_ranges ?? []).map((p) => p.address_prefix), ...(m.server_names ?? [])];
        return (parts.length ? parts : ['*']).map((p) => `${m.destination_port?.value ?? '*'}|${p}`);
      }));
    }
    if (r.typeUrl === TypeUrls.route) {
      dup(`${r.name} virtual host names`, (v.virtual_hosts ?? []).map((h) => h.name));
      dup(`${r.name} domains`, (v.virtual_hosts ?? []).flatMap((h) => h.domains));
    }
  }
  return problems;
}

// ---- arbitraries: random but valid views (what the catalog could produce) ----
const dns = fc.constantFrom('a', 'b', 'shop', 'store', 'db', 'web-1', 'x9');
const identityArb = fc.record({ namespace: dns, serviceAccount: dns });
const protocolArb = fc.constantFrom<Protocol>('http', 'http2', 'grpc', 'tcp', 'tcp-server-first', 'udp');
const portArb = fc.integer({ min: 1, max: 65535 });
const ipArb = fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 6 })).map(([a, b]) => `10.0.${a}.${b}`);
const regexArb = fc.constantFrom('', '.*', '/api/.*', '/books/[0-9]+', '^/x$', '/a|/b');
const headerArb = fc.record({ name: fc.constantFrom('host', 'user-agent', 'x-canary', 'Client-App'), valueRegex: regexArb });
const matchArb: fc.Arbitrary<HttpMatch> = fc.record({
  name: dns,
  pathRegex: regexArb,
  methods: fc.oneof(fc.constant(['*']), fc.uniqueArray(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'), { minLength: 1, maxLength: 3 })),
  headers: fc.array(headerArb, { maxLength: 2 }),
});
const principalsArb = fc.oneof(fc.constant('any' as const), fc.array(identityArb, { maxLength: 3 }));

const serviceArb: fc.Arbitrary<MeshServicePort> = fc.record({ namespace: dns, name: dns, port: portArb, targetPort: portArb, protocol: protocolArb });

function hostnamesOf(s: MeshServicePort): string[] {
  const bases = [`${s.name}.${s.namespace}`, `${s.name}.${s.namespace}.svc`, `${s.name}.${s.namespace}.svc.cluster.local`];
  return bases.flatMap((b) => [b, `${b}:${s.port}`]);
}

const endpointArb = (port: number): fc.Arbitrary<MeshEndpoint> =>
  fc.record({ ip: ipArb, port: fc.constant(port), ready: fc.boolean(), identity: identityArb });

const outboundArb: fc.Arbitrary<OutboundService[]> = fc
  .uniqueArray(serviceArb, { maxLength: 6, selector: (s) => `${s.namespace}/${s.name}|${s.targetPort}` })
  .chain((services) =>
    fc.tuple(
      ...services.map((s) =>
        fc.record({
          endpoints: fc.array(endpointArb(s.targetPort), { maxLength: 4 }),
          split: fc.option(
            fc.record({
              backends: fc.subarray(services, { minLength: 1 }).chain((bs) => fc.tuple(...bs.map((b) => fc.integer({ min: 0, max: 100 }).map((weight) => ({ service: b, weight, clusterName: `${b.namespace}/${b.name}|${b.targetPort}` }))))),
              matches: fc.array(matchArb, { maxLength: 2 }),
            }),
            { nil: undefined },
          ),
          retry: fc.option(fc.record({ attempts: fc.integer({ min: 0, max: 5 }), retryOn: fc.subarray(['5xx', 'reset', 'connect-failure']), perTryTimeoutMs: fc.integer({ min: 1, max: 60_000 }) }), { nil: undefined }),
          timeoutMs: fc.option(fc.integer({ min: 0, max: 120_000 }), { nil: undefined }),
          serviceIPs: fc.uniqueArray(fc.oneof(ipArb, fc.integer({ min: 1, max: 9 }).map((n) => `fd00::${n}`)), { maxLength: 2 }),
        }).map((x): OutboundService => {
          const ids = [...new Map(x.endpoints.flatMap((e) => (e.identity ? [[`${e.identity.namespace}/${e.identity.serviceAccount}`, e.identity] as const] : []))).values()];
          return {
            service: s,
            clusterName: `${s.namespace}/${s.name}|${s.targetPort}`,
            hostnames: hostnamesOf(s),
            endpoints: x.endpoints,
            identities: ids,
            serviceIPs: [...x.serviceIPs].sort(),
            ...(x.split ? { split: { splitName: `${s.namespace}/split`, backends: x.split.backends, matches: x.split.matches } } : {}),
            ...(x.retry ? { retry: x.retry } : {}),
            ...(x.timeoutMs !== undefined ? { timeoutMs: x.timeoutMs } : {}),
          };
        }),
      ),
    ),
  );

const inboundArb: fc.Arbitrary<InboundPort[]> = fc.array(
  fc.record({
    service: serviceArb,
    routes: fc.array(fc.record({ match: matchArb, principals: principalsArb }), { maxLength: 3 }),
    tcpPolicies: fc.array(
      fc.record({ name: dns.map((n) => `ns/${n}`), principals: fc.array(identityArb, { maxLength: 3 }), ports: fc.oneof(fc.constant('any' as const), fc.array(portArb, { maxLength: 3 })) }),
      { maxLength: 3 },
    ),
  }).map((p): InboundPort => ({ ...p, localClusterName: `${p.service.namespace}/${p.service.name}|${p.service.targetPort}|local`, hostnames: [p.service.name, ...hostnamesOf(p.service)] })),
  { maxLength: 4 },
);

const viewArb: fc.Arbitrary<ProxyView> = fc.record({
  identity: identityArb,
  trustDomain: fc.constantFrom('cluster.local', 'example.org'),
  permissive: fc.boolean(),
  egress: fc.boolean(),
  outbound: outboundArb,
  inbound: inboundArb,
  localEndpoints: fc.constant([]),
});

describe('envoy backend: generated resources are strictly valid', () => {
  it('a random valid view always gives strictly valid, self-consistent, deterministic resources', () => {
    const factory = xds.createResourceFactory({ strict: true });
    fc.assert(
      fc.property(viewArb, fc.boolean(), (view, metrics) => {
        const ctx = { node: nodeOf(view.identity), resources: factory, certificate: cert };
        const out = createEnvoyGenerator({ metrics }).generate(view, ctx);
        expect(problemsOf(out)).toEqual([]);
        const again = createEnvoyGenerator({ metrics }).generate(view, ctx);
        expect(again.map((r) => `${r.name}@${r.version}`)).toEqual(out.map((r) => `${r.name}@${r.version}`));
      }),
      { numRuns: 150 },
    );
  });

  it('the demo (bookbuyer -> bookstore split, bookwarehouse over TCP, egress) is valid and complete', () => {
    const s = (namespace: string, name: string, port: number, protocol: Protocol = 'http'): MeshServicePort => ({ namespace, name, port, targetPort: port, protocol });
    const storeId = { namespace: 'bookstore', serviceAccount: 'bookstore' };
    const ep = (ip: string, port: number): MeshEndpoint => ({ ip, port, ready: true, identity: storeId });
    const out = (svc: MeshServicePort, eps: MeshEndpoint[], extra: Partial<OutboundService> = {}): OutboundService => ({
      service: svc, clusterName: `${svc.namespace}/${svc.name}|${svc.targetPort}`, hostnames: hostnamesOf(svc), endpoints: eps, identities: [storeId], ...extra,
    });
    const [apex, v1, v2] = [s('bookstore', 'bookstore', 14001), s('bookstore', 'bookstore-v1', 14001), s('bookstore', 'bookstore-v2', 14001)];
    const view: ProxyView = {
      identity: { namespace: 'bookbuyer', serviceAccount: 'bookbuyer' },
      trustDomain: TD,
      permissive: false,
      egress: true,
      outbound: [
        out(apex, [ep('10.0.0.1', 14001), ep('10.0.0.2', 14001)], {
          split: { splitName: 'bookstore/split', matches: [], backends: [{ service: v1, weight: 50, clusterName: 'bookstore/bookstore-v1|14001' }, { service: v2, weight: 50, clusterName: 'bookstore/bookstore-v2|14001' }] },
        }),
        out(v1, [ep('10.0.0.1', 14001)]),
        out(v2, [ep('10.0.0.2', 14001)]),
        out(s('bookwarehouse', 'bookwarehouse', 14001, 'tcp'), [ep('10.0.1.1', 14001)]),
      ],
      inbound: [],
      localEndpoints: [],
    };
    const resources = createEnvoyGenerator().generate(view, { node: nodeOf(view.identity), resources: xds.createResourceFactory({ strict: true }), certificate: cert });
    expect(problemsOf(resources)).toEqual([]);
    const byType = (t: string) => resources.filter((r) => r.typeUrl === t).map((r) => r.name);
    expect(byType(TypeUrls.listener)).toEqual(['inbound-prometheus-listener', 'outbound-listener']);
    expect(byType(TypeUrls.route)).toEqual(['rds-outbound.14001']);
    expect(byType(TypeUrls.endpoint)).toHaveLength(4);
    expect(byType(TypeUrls.secret)).toContain('root-cert-for-mtls-outbound:bookwarehouse/bookwarehouse');
  });

  it('rejects a deliberately broken resource (the validator is not a rubber stamp)', () => {
    const view: ProxyView = { identity: { namespace: 'a', serviceAccount: 'a' }, trustDomain: TD, permissive: false, egress: true, outbound: [], inbound: [], localEndpoints: [] };
    const [listener] = createEnvoyGenerator({ metrics: false }).generate(view, { node: nodeOf(view.identity), resources: xds.createResourceFactory() });
    if (!listener) throw new Error('no listener');
    const broken = structuredClone(listener.value) as { address: { socket_address: Obj }; default_filter_chain: { filters: Obj[] } };
    broken.address.socket_address.port_value = 700_000;
    broken.default_filter_chain.filters = [{ name: 'tcp', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', cluster: 'x' } }];
    expect(validateEnvoyResource(listener.typeUrl, broken as unknown as Obj)).toEqual([
      '$.address.socket_address.port_value: must be <= 65535',
      '$.default_filter_chain.filters[0].typed_config<envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy>.stat_prefix: must be at least 1 character(s) long',
    ]);
  });

  it('the bootstrap decodes strictly as envoy.config.bootstrap.v3.Bootstrap (with probes too)', () => {
    const req = { node: nodeOf({ namespace: 'bookbuyer', serviceAccount: 'bookbuyer' }), controllerAddress: 'trellis.trellis-system.svc:15128', outDir: '/etc/envoy', certificate: cert };
    for (const probes of [undefined, { liveness: { port: 8080, path: '/live' }, readiness: { port: 8080, path: '/ready' }, startup: { port: 8081, path: '/start' } }]) {
      const [file] = envoyBootstrap(req, probes ? { probes } : {});
      expect(validateBootstrap(parse(file?.content ?? '') as Obj)).toEqual([]);
    }
  });
});
