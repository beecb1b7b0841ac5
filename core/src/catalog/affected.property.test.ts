/**
 * Completeness of the affected set: on random meshes and random changes, every identity outside
 * `catalog.affected(change)` has a deep-equal view before and after. Also checks that the cached catalog
 * (which invalidates only affected identities) answers exactly what a fresh catalog computes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { identityKey, keyOf } from '@trellis/plugin-sdk';
import type { Identity, KubeObject, ProxyView } from '@trellis/plugin-sdk';
import { MeshStore } from '../store/index.ts';
import type { StoreChange } from '../store/index.ts';
import { deepEqual } from '../store/equal.ts';
import { fakeDeps } from '../store/test-fakes.ts';
import { MeshSettingsService } from '../settings/index.ts';
import { Catalog } from './catalog.ts';
import { meshConfig, pod, routeGroup, sa, slice, split, svc, target, tcpRoute } from './test-builders.ts';

const NS = ['n1', 'n2'] as const;
const SAS = ['a', 'b', 'c', 'default'] as const;
const APPS = ['x', 'y', 'z'] as const;
const SVCS = ['s1', 's2', 's3'] as const;
const IPS = ['127.0.0.1', '10.0.0.1', '10.0.0.2', '10.0.0.3'] as const;
const PORTS = [
  { port: 80, targetPort: 8080, name: 'http' },
  { port: 90, targetPort: 9090, name: 'tcp-raw' },
  { port: 80, targetPort: 8081, name: 'grpc-api' },
] as const;

// The config file's trust domain (the default) and the ones MeshConfigs may set: restating the default, or not.
const TRUST_DOMAINS = ['cluster.local', 'example.org', 'mesh.local'] as const;

const pick = <T,>(xs: readonly T[]) => fc.constantFrom(...xs);
const nsArb = pick(NS);

const w = (weight: number, arbitrary: fc.Arbitrary<KubeObject>) => ({ weight, arbitrary });
// Weighted so that meshes are dense enough for policies to matter (few permissive configs, few cross-namespace targets).
const objArb: fc.Arbitrary<KubeObject> = fc.oneof(
  w(1, fc.tuple(nsArb, pick(SAS)).map(([n, s]) => sa(n, s))),
  w(3, fc.tuple(nsArb, pick(SVCS), fc.subarray([0, 1, 2], { minLength: 1 }), pick(APPS)).map(([n, name, ps, app]) =>
    svc(n, name, ps.filter((i, j, arr) => arr.findIndex((k) => PORTS[k]!.port === PORTS[i]!.port) === j).map((i) => ({ ...PORTS[i]! })), { app }),
  )),
  w(4, fc.tuple(nsArb, fc.integer({ min: 0, max: 3 }), pick(SAS), pick(IPS), pick(APPS)).map(([n, i, s, ip, app]) => pod(n, `p${i}`, s, ip, { app }))),
  w(3, fc
    .tuple(nsArb, pick(SVCS), fc.array(fc.tuple(pick(IPS), fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }), fc.boolean()), { maxLength: 3 }), fc.subarray([0, 1, 2], { minLength: 1 }))
    .map(([n, s, eps, ps]) =>
      slice(
        n,
        s,
        eps.map(([ip, p, ready]) => ({ ip, ready, ...(p !== undefined && { pod: `p${p}` }) })),
        ps.map((i) => ({ name: PORTS[i]!.name, port: PORTS[i]!.targetPort })),
      ),
    )),
  w(1, fc
    .tuple(nsArb, pick(SVCS), fc.array(fc.tuple(pick(IPS), fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }), fc.boolean()), { maxLength: 3 }))
    .map(([n, s, eps]): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: s, namespace: n },
      subsets: [
        {
          addresses: eps.filter(([, , ready]) => ready).map(([ip, p]) => ({ ip, ...(p !== undefined && { targetRef: { kind: 'Pod', name: `p${p}` } }) })),
          notReadyAddresses: eps.filter(([, , ready]) => !ready).map(([ip]) => ({ ip })),
          ports: [{ name: 'http', port: 8080 }, { name: 'tcp-raw', port: 9090 }],
        },
      ],
    }))),
  w(5, fc
    .tuple(
      nsArb,
      fc.integer({ min: 0, max: 2 }),
      pick(SAS),
      fc.array(fc.tuple(nsArb, pick(SAS)), { minLength: 1, maxLength: 2 }),
      fc.array(fc.tuple(pick(['HTTPRouteGroup', 'TCPRoute', 'UDPRoute'] as const), fc.integer({ min: 0, max: 1 }), fc.option(pick(['m1', 'm2']), { nil: undefined })), { minLength: 1, maxLength: 2 }),
      fc.integer({ min: 0, max: 7 }).map((x) => x === 0),
    )
    .map(([n, i, dest, sources, rules, crossNs]) =>
      target(
        n,
        `tt${i}`,
        dest,
        sources,
        rules.map(([kind, r, m]) => ({ kind, name: `r${r}`, ...(m && { matches: [m] }) })),
        crossNs ? (n === 'n1' ? 'n2' : 'n1') : n,
      ),
    )),
  w(2, fc.tuple(nsArb, fc.integer({ min: 0, max: 1 }), fc.subarray(['m1', 'm2'], { minLength: 1 }), pick(['/a', '/b.*', '.*'])).map(([n, r, ms, path]) =>
    routeGroup(n, `r${r}`, ms.map((m) => ({ name: m, pathRegex: path, methods: m === 'm1' ? ['GET'] : ['*'] }))),
  )),
  w(2, fc.tuple(nsArb, fc.integer({ min: 0, max: 1 }), fc.subarray([8080, 9090, 8081]), fc.boolean()).map(([n, r, ports, udp]) => tcpRoute(n, `r${r}`, ports, udp ? 'UDPRoute' : 'TCPRoute'))),
  w(3, fc
    .tuple(nsArb, fc.integer({ min: 0, max: 1 }), pick(SVCS), fc.array(fc.tuple(pick(SVCS), fc.integer({ min: 0, max: 3 })), { minLength: 1, maxLength: 3 }), fc.boolean())
    .map(([n, i, root, bs, withMatches]) => {
      const seen = new Set<string>();
      const backends = bs.filter(([s]) => !seen.has(s) && seen.add(s)).map(([service, weight]) => ({ service, weight }));
      return split(n, `sp${i}`, root, backends, withMatches ? ['r0'] : undefined);
    })),
  w(2, fc
    .tuple(fc.integer({ min: 0, max: 3 }), fc.boolean(), fc.integer({ min: 0, max: 1 }), fc.option(pick(TRUST_DOMAINS), { nil: undefined }), fc.option(pick(['1h', '24h']), { nil: undefined }))
    .map(([p, egress, i, trustDomain, validity]) =>
      meshConfig(
        {
          traffic: { enablePermissiveTrafficPolicyMode: p === 0, enableEgress: egress },
          ...((trustDomain ?? validity) !== undefined && {
            certificate: { ...(trustDomain !== undefined && { trustDomain }), ...(validity !== undefined && { serviceCertValidityDuration: validity }) },
          }),
        },
        `mc${i}`,
      ),
    )),
);

// Traffic policies: Retries from a source to services, UpstreamTrafficSettings naming a service by one of its host forms.
const retryArb: fc.Arbitrary<KubeObject> = fc
  .tuple(nsArb, fc.integer({ min: 0, max: 1 }), nsArb, pick(SAS), fc.subarray(NS.flatMap((n) => SVCS.map((x) => [n, x] as const)), { minLength: 1 }), fc.integer({ min: 0, max: 3 }), pick(['policy.trellis.io', 'policy.openservicemesh.io']))
  .map(([n, i, srcNs, src, dests, numRetries, group]) => ({
    apiVersion: `${group}/v1alpha1`,
    kind: 'Retry',
    metadata: { name: `re${i}`, namespace: n },
    spec: {
      source: { kind: 'ServiceAccount', name: src, namespace: srcNs },
      destinations: dests.map(([namespace, name]) => ({ kind: 'Service', name, namespace })),
      retryPolicy: { retryOn: numRetries % 2 ? '5xx' : 'unavailable,connect-failure', numRetries, perTryTimeout: `${numRetries + 1}s` },
    },
  }));
const upstreamArb: fc.Arbitrary<KubeObject> = fc
  .tuple(nsArb, fc.integer({ min: 0, max: 1 }), pick(SVCS), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 9 }))
  .map(([n, i, s, form, max]) => ({
    apiVersion: 'policy.trellis.io/v1alpha1',
    kind: 'UpstreamTrafficSetting',
    metadata: { name: `ut${i}`, namespace: n },
    spec: {
      host: [s, `${s}.${n}`, `${s}.${n}.svc`, `${s}.${n}.svc.cluster.local`][form],
      connectionSettings: { http: { maxRequests: max, requestTimeout: `${max}s` } },
      ...(max % 2 === 0 && { outlierDetection: { consecutive5xxErrors: max } }),
      // Read by the destination's own (inbound) view.
      rateLimit: { local: { tcp: { connections: max, unit: 'second' }, ...(max % 2 === 1 && { http: { requests: max, unit: 'minute' } }) } },
    },
  }));
const ingressArb: fc.Arbitrary<KubeObject> = fc
  .tuple(nsArb, fc.integer({ min: 0, max: 1 }), fc.array(fc.tuple(pick(SVCS), pick([8080, 9090, 8081]), fc.boolean()), { minLength: 1, maxLength: 2 }), fc.array(fc.oneof(fc.tuple(nsArb, pick(SVCS)), pick(['10.0.0.0/8', '127.0.0.1/32'])), { minLength: 1, maxLength: 2 }))
  .map(([n, i, backends, sources]) => ({
    apiVersion: 'policy.openservicemesh.io/v1alpha1',
    kind: 'IngressBackend',
    metadata: { name: `ib${i}`, namespace: n },
    spec: {
      backends: backends.map(([name, number, https]) => ({ name, port: { number, protocol: https ? 'https' : 'http' } })),
      sources: sources.map((src) => (typeof src === 'string' ? { kind: 'IPRange', name: src } : { kind: 'Service', namespace: src[0], name: src[1] })),
    },
  }));
const egressArb: fc.Arbitrary<KubeObject> = fc
  .tuple(nsArb, fc.integer({ min: 0, max: 1 }), fc.array(fc.tuple(nsArb, pick(SAS)), { minLength: 1, maxLength: 2 }), pick(['http', 'https', 'tcp'] as const), fc.option(pick(['r0', 'r1']), { nil: undefined }))
  .map(([n, i, sources, protocol, group]) => ({
    apiVersion: 'policy.trellis.io/v1alpha1',
    kind: 'Egress',
    metadata: { name: `eg${i}`, namespace: n },
    spec: {
      sources: sources.map(([namespace, name]) => ({ kind: 'ServiceAccount', name, namespace })),
      hosts: ['example.com'],
      ...(protocol === 'tcp' && { ipAddresses: ['203.0.113.0/24'] }),
      ports: [{ number: 443, protocol }],
      ...(group && { matches: [{ kind: 'HTTPRouteGroup', name: group }] }),
    },
  }));
const policyArb = fc.oneof(retryArb, upstreamArb, ingressArb, egressArb);

type Change = { op: 'apply'; obj: KubeObject } | { op: 'delete'; index: number };
const changeArb: fc.Arbitrary<Change> = fc.oneof(
  { weight: 2, arbitrary: objArb.map((obj) => ({ op: 'apply' as const, obj })) },
  { weight: 2, arbitrary: policyArb.map((obj) => ({ op: 'apply' as const, obj })) },
  { weight: 1, arbitrary: fc.nat().map((index) => ({ op: 'delete' as const, index })) },
);

const universe: Identity[] = NS.flatMap((namespace) => SAS.map((serviceAccount) => ({ namespace, serviceAccount })));

function viewsOf(store: MeshStore, configTrustDomain: string): Map<string, ProxyView> {
  const settings = new MeshSettingsService(store, { defaults: { trustDomain: configTrustDomain } });
  const c = new Catalog(store, settings);
  const m = new Map(universe.map((id) => [identityKey(id), c.viewFor(id)]));
  c.dispose();
  settings.dispose();
  return m;
}

describe('affected set (property)', () => {
  // Hundreds of generated changes: seconds on a quiet machine, more under load, so not vitest's default 5 s.
  it('never misses an identity whose view changes, and the cache stays exact', { timeout: 60_000 }, () => {
    const stats = { changes: 0, emitted: 0, all: 0, inSet: 0, needed: 0, larger: 0, meshConfig: 0, trustDomain: 0, policyViews: 0 };
    fc.assert(
      fc.property(fc.tuple(fc.array(objArb, { maxLength: 40 }), fc.array(policyArb, { maxLength: 6 })).map(([a, b]) => [...a, ...b]), fc.array(changeArb, { minLength: 1, maxLength: 4 }), pick(TRUST_DOMAINS.slice(0, 2)), (objects, changes, configTd) => {
        const store = new MeshStore(fakeDeps());
        const sink = store.sinkFor('prop');
        for (const o of objects) sink.apply(o);
        const settings = new MeshSettingsService(store, { defaults: { trustDomain: configTd } });
        const cached = new Catalog(store, settings);
        for (const id of universe) cached.viewFor(id); // warm the cache
        for (const ch of changes) {
          const before = viewsOf(store, configTd);
          const emitted: StoreChange[] = [];
          const off = store.onChange((c) => emitted.push(c));
          if (ch.op === 'apply') sink.apply(ch.obj);
          else {
            const all = objects.concat(changes.flatMap((c) => (c.op === 'apply' ? [c.obj] : [])));
            const victim = all[ch.index % Math.max(1, all.length)];
            if (victim) sink.delete(keyOf(victim));
          }
          off();
          stats.changes++;
          const after = viewsOf(store, configTd);
          const union = new Set<string>();
          let all = false;
          for (const c of emitted) {
            stats.emitted++;
            const a = cached.affected(c);
            if (a === 'all') all = true;
            else for (const k of a) union.add(k);
          }
          if (all) stats.all++;
          if (emitted.some((c) => c.kind === 'MeshConfig')) stats.meshConfig++;
          if (before.values().next().value?.trustDomain !== after.values().next().value?.trustDomain) stats.trustDomain++;
          let needed = 0;
          for (const id of universe) {
            const k = identityKey(id);
            const same = deepEqual(before.get(k), after.get(k));
            if (!same) needed++;
            if (!all && !union.has(k)) expect(same, `view of ${k} changed but it is not in the affected set ${[...union].join(',')}`).toBe(true);
            // the cached catalog must agree with a fresh one
            expect(deepEqual(cached.viewFor(id), after.get(k)), `cached view of ${k} is stale`).toBe(true);
          }
          const size = all ? universe.length : [...union].filter((k) => universe.some((u) => identityKey(u) === k)).length;
          if (needed > 0 && emitted.some((c) => c.kind === 'Retry' || c.kind === 'UpstreamTrafficSetting' || c.kind === 'IngressBackend' || c.kind === 'Egress')) stats.policyViews++;
          stats.inSet += size;
          stats.needed += needed;
          if (size > needed) stats.larger++;
        }
        cached.dispose();
        settings.dispose();
      }),
      { seed: 20260325, numRuns: 300 },
    );
    // Reported, not asserted: how much larger than necessary the sets were.
    console.info(
      `affected-set stats: ${stats.changes} changes, ${stats.emitted} store events, 'all' ${stats.all}x, ` +
        `set larger than needed in ${stats.larger} (${((100 * stats.larger) / Math.max(1, stats.changes)).toFixed(1)}%), ` +
        `identities in sets ${stats.inSet} vs actually changed ${stats.needed}, MeshConfig changes ${stats.meshConfig}, trust-domain changes ${stats.trustDomain}, ` +
        `policy changes that changed views ${stats.policyViews}`,
    );
    expect(stats.changes).toBeGreaterThan(0);
    // The generator must reach the mesh-wide cases, trust-domain changes among them.
    expect(stats.trustDomain).toBeGreaterThan(0);
    // ... and Retry / UpstreamTrafficSetting changes that change views.
    expect(stats.policyViews).toBeGreaterThan(0);
  });

  it('a Retry change affects exactly its source identities (old and new)', () => {
    fc.assert(
      fc.property(fc.array(objArb, { maxLength: 30 }), retryArb, retryArb, (objects, r1, r2) => {
        const store = new MeshStore(fakeDeps());
        const sink = store.sinkFor('prop');
        for (const o of objects) sink.apply(o);
        const catalog = new Catalog(store);
        const second = { ...r2, apiVersion: r1.apiVersion, metadata: r1.metadata };
        const sourceOf = (r: KubeObject) => {
          const src = (r.spec as { source: { name: string; namespace: string } }).source;
          return identityKey({ namespace: src.namespace, serviceAccount: src.name });
        };
        const seen: (Set<string> | 'all')[] = [];
        const off = store.onChange((c) => seen.push(catalog.affected(c)));
        sink.apply(r1);
        sink.apply(second);
        sink.delete(keyOf(second));
        off();
        const [added, changed, removed] = seen;
        expect(added).toEqual(new Set([sourceOf(r1)]));
        if (changed !== undefined) expect(changed).toEqual(new Set([sourceOf(r1), sourceOf(second)]));
        expect(removed ?? added).toEqual(new Set([sourceOf(second)]));
        catalog.dispose();
      }),
      { seed: 20261202, numRuns: 100 },
    );
  });
});
