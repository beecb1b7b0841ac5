import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Catalog, MeshStore, validateEnvoyResource, validateObject, xds } from '@trellis/core';
import type { MeshKind } from '@trellis/core';
import { TypeUrls, identityKey } from '@trellis/plugin-sdk';
import type { KubeObject, XdsResource } from '@trellis/plugin-sdk';
import { MemoryBus, MemoryLogger, MemoryMetrics } from '@trellis/plugin-sdk/testing';
import { createEnvoyGenerator } from '@trellis/plugin-proxy-envoy';
import { createGrpcGenerator } from '@trellis/plugin-proxy-grpc';
import { loadGrpcXds } from '../support/grpc-workloads.ts';
import { anyObject, meshWorld, validObject } from './mesh-arbitraries.ts';
import { fuzzSettings } from '../support/fuzz.ts';
import { placeholderCertificate } from '../support/placeholder-cert.ts';

/**
 * Mesh objects of every kind, valid, mutated and hostile, through the MeshStore, the catalog and both proxy
 * generators. Properties: nothing throws (and nothing rejects unhandled: vitest fails the run on that), an
 * invalid update keeps the last good version, every rejection names kind/namespace/name, field and why, what
 * the store reports stays small whatever the input, and everything generated from accepted objects passes the
 * strict xDS validator. Fixed seed; `TRELLIS_FUZZ_RUNS` sets the number of runs (`npm run fuzz` raises it).
 */

const { runs: RUNS, seed: SEED } = fuzzSettings(40);
const params = { numRuns: RUNS, seed: SEED, endOnFailure: true };

/** What the store reports about one object (status, source error, log line) stays below this. */
const MAX_REPORT = 4096;

const POLICY_KINDS = new Set<MeshKind>(['TrafficTarget', 'HTTPRouteGroup', 'TCPRoute', 'UDPRoute', 'TrafficSplit', 'MeshConfig']);
const FIELD_REASON = /^[A-Za-z][A-Za-z0-9_.[\]/:-]*: \S/;

type Op = { op: 'apply'; source: string; obj: KubeObject } | { op: 'delete'; source: string; obj: KubeObject } | { op: 'replaceAll'; source: string; objs: KubeObject[] };
const sourceArb = fc.constantFrom('file-a', 'file-b');
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('apply' as const), source: sourceArb, obj: anyObject }), weight: 8 },
  { arbitrary: fc.record({ op: fc.constant('delete' as const), source: sourceArb, obj: validObject }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('replaceAll' as const), source: sourceArb, objs: fc.array(anyObject, { maxLength: 6 }) }), weight: 1 },
);

/** The store's key parts for an object of a known kind (namespaced kinds default to `default`). */
function keyParts(kind: MeshKind, obj: KubeObject): { kind: MeshKind; ns: string; name: string } {
  const meta = (obj as { metadata?: { namespace?: unknown; name?: unknown } }).metadata;
  const ns = typeof meta?.namespace === 'string' ? meta.namespace : kind === 'Namespace' || kind === 'MeshConfig' ? '' : 'default';
  let name: string;
  try {
    name = String(meta?.name);
  } catch {
    name = Object.prototype.toString.call(meta?.name); // a null-prototype object has no toString
  }
  return { kind, ns, name };
}
const keyString = (k: { kind: string; ns: string; name: string }): string => `${k.kind}|${k.ns}|${k.name}`;

/** Reference model: per key, the good versions each source holds, most recent last. */
class Model {
  readonly layers = new Map<string, { source: string; obj: KubeObject }[]>();
  readonly parts = new Map<string, { kind: MeshKind; ns: string; name: string }>();

  apply(source: string, input: KubeObject): void {
    const v = validateObject(input);
    if (v.outcome !== 'accepted' && v.outcome !== 'ignored') return;
    const parts = keyParts(v.kind, v.obj);
    const k = keyString(parts);
    this.parts.set(k, parts);
    this.layers.set(k, [...(this.layers.get(k) ?? []).filter((l) => l.source !== source), { source, obj: v.obj }]);
  }

  remove(source: string, k: string): void {
    const rest = (this.layers.get(k) ?? []).filter((l) => l.source !== source);
    if (rest.length) this.layers.set(k, rest);
    else this.layers.delete(k);
  }

  replaceAll(source: string, objs: readonly KubeObject[]): void {
    const keep = new Set<string>();
    for (const o of objs) {
      const v = validateObject(o);
      if (v.outcome !== 'unknown') keep.add(keyString(keyParts(v.kind, o)));
    }
    for (const [k, ls] of this.layers) if (!keep.has(k) && ls.some((l) => l.source === source)) this.remove(source, k);
    for (const o of objs) this.apply(source, o);
  }
}

function newStore(): { store: MeshStore; logger: MemoryLogger } {
  const logger = new MemoryLogger();
  return { store: new MeshStore({ bus: new MemoryBus(), logger, metrics: new MemoryMetrics() }), logger };
}

/** A rejection of `input` (already known to be invalid) must be listed with its kind, namespace, name and reason. */
function expectRejectionReported(store: MeshStore, input: KubeObject, reason: string): void {
  expect(reason).toMatch(FIELD_REASON);
  const v = validateObject(input);
  if (v.outcome !== 'invalid') throw new Error('not invalid');
  const { kind, ns, name } = keyParts(v.kind, input);
  // Names and namespaces are shown cut at 253 characters (what Kubernetes allows at most).
  const shown = name.slice(0, 253);
  const shownNs = ns.slice(0, 253);
  if (POLICY_KINDS.has(kind)) {
    const st = store.policyStatuses().find((p) => p.kind === kind && p.namespace.startsWith(shownNs) && p.name.startsWith(shown) && p.status === 'invalid');
    expect(st, `${kind} ${ns}/${shown.slice(0, 40)} listed as invalid`).toBeDefined();
    expect(st?.reason?.startsWith(reason.slice(0, 200))).toBe(true);
  } else {
    const err = store.sourceErrors().find((e) => e.message.startsWith(`${kind} `) && e.message.includes(reason.slice(0, 200)));
    expect(err, `${kind} ${ns}/${shown.slice(0, 40)}: ${reason.slice(0, 80)} listed as a source error`).toBeDefined();
    expect(err?.message).toContain(shown);
    expect(err?.message).toContain(shownNs);
  }
}

function expectMatchesModel(store: MeshStore, model: Model): void {
  for (const [k, layers] of model.layers) {
    const p = model.parts.get(k)!;
    expect(store.get(p.kind, p.ns === '' ? undefined : p.ns, p.name), `effective ${k}`).toEqual(layers.at(-1)?.obj);
  }
  const kinds = new Set([...model.parts.values()].map((p) => p.kind));
  for (const kind of kinds) expect(store.list(kind).length, `${kind} count`).toBe([...model.layers.keys()].filter((k) => model.parts.get(k)?.kind === kind).length);
}

function expectBoundedReports(store: MeshStore, logger: MemoryLogger): void {
  for (const st of store.policyStatuses()) {
    expect(JSON.stringify(st).length, `${st.kind} status size`).toBeLessThan(MAX_REPORT);
    if (st.status !== 'accepted' || st.reason !== undefined) expect(st.reason ?? '').toMatch(FIELD_REASON);
  }
  for (const e of store.sourceErrors()) expect(JSON.stringify(e).length, 'source error size').toBeLessThan(MAX_REPORT);
  for (const o of store.ignoredObjects()) expect(JSON.stringify(o).length, 'ignored object size').toBeLessThan(MAX_REPORT);
  for (const l of logger.lines) expect(JSON.stringify(l, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)).length, `log line "${l.msg}" size`).toBeLessThan(MAX_REPORT);
}

const cert = placeholderCertificate;

type Decoder = { decode(context: unknown, resource: { type_url: string; value: Buffer }): { error?: string } };
let grpcDecoders: Record<string, Decoder>;
const grpcContext = { bootstrap: { certificateProviders: { default: { pluginName: 'file_watcher', config: {} } } }, server: null };

beforeAll(async () => {
  await loadGrpcXds(); // the RBAC filter must be enabled before grpc-js-xds loads
  const base = '@grpc/grpc-js-xds/build/src/xds-resource-type';
  const [l, r, c, e] = await Promise.all([
    import(`${base}/listener-resource-type.js`) as Promise<{ ListenerResourceType: { get(): Decoder } }>,
    import(`${base}/route-config-resource-type.js`) as Promise<{ RouteConfigurationResourceType: { get(): Decoder } }>,
    import(`${base}/cluster-resource-type.js`) as Promise<{ ClusterResourceType: { get(): Decoder } }>,
    import(`${base}/endpoint-resource-type.js`) as Promise<{ EndpointResourceType: { get(): Decoder } }>,
  ]);
  grpcDecoders = {
    [TypeUrls.listener]: l.ListenerResourceType.get(),
    [TypeUrls.route]: r.RouteConfigurationResourceType.get(),
    [TypeUrls.cluster]: c.ClusterResourceType.get(),
    [TypeUrls.endpoint]: e.EndpointResourceType.get(),
  };
});

/** What a proxyless client judges: the strict proto check and grpc-js-xds's own validators (what it would NACK). */
function grpcProblems(r: XdsResource): string[] {
  const out = xds.checkStrict(r.typeUrl, r.value);
  const d = grpcDecoders[r.typeUrl];
  if (!d) return [...out, `unexpected type ${r.typeUrl}`];
  const res = d.decode(grpcContext, { type_url: r.typeUrl, value: Buffer.from(r.body) });
  return res.error ? [...out, `grpc-js-xds rejects it: ${res.error}`] : out;
}

/**
 * Weights are uint32 in the protos, and the protobuf encoder wraps a larger number silently (no validator
 * sees it): every `*weight` field must fit, sums included.
 */
function weightProblems(v: unknown, path = '$'): string[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => weightProblems(x, `${path}[${i}]`));
  if (typeof v !== 'object' || v === null) return [];
  return Object.entries(v).flatMap(([k, x]) =>
    k.endsWith('weight') && typeof x === 'number' && !(Number.isInteger(x) && x >= 0 && x <= 0xffff_ffff) ? [`${path}.${k}: ${x} is not a uint32`] : weightProblems(x, `${path}.${k}`),
  );
}

function expectValidGenerated(store: MeshStore): void {
  const catalog = new Catalog(store);
  const envoy = createEnvoyGenerator();
  const grpc = createGrpcGenerator();
  const strict = xds.createResourceFactory({ strict: true });
  for (const id of catalog.identities()) {
    const view = catalog.viewFor(id);
    const node = { uuid: '38cf2479-bfea-4c1e-a961-f8f8e2b2e8cb', kind: 'sidecar', trustDomain: view.trustDomain, ...id };
    const sets: [string, XdsResource[], (r: XdsResource) => string[]][] = [
      ['envoy', envoy.generate(view, { node, resources: strict, certificate: cert }), (r) => validateEnvoyResource(r.typeUrl, r.value)],
      ['grpc', grpc(view, { resources: strict }), grpcProblems],
    ];
    for (const [backend, resources, problemsOf] of sets) {
      for (const r of resources) expect([...problemsOf(r), ...weightProblems(r.value)], `${backend} ${identityKey(id)} ${r.name}`).toEqual([]);
      expect(xds.checkConsistency(new xds.Snapshot(resources)), `${backend} ${identityKey(id)} consistency`).toEqual([]);
    }
  }
  catalog.dispose();
}

describe('mesh objects fuzz (fast-check, fixed seed)', () => {
  it('the store never throws, keeps the last good version, and reports every rejection precisely', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 25 }), (ops) => {
        const { store, logger } = newStore();
        const model = new Model();
        const sinks = new Map<string, ReturnType<MeshStore['sinkFor']>>();
        const sink = (s: string) => sinks.get(s) ?? sinks.set(s, store.sinkFor(s)).get(s)!;
        for (const op of ops) {
          if (op.op === 'apply') {
            sink(op.source).apply(op.obj);
            model.apply(op.source, op.obj);
            const v = validateObject(op.obj);
            if (v.outcome === 'invalid') expectRejectionReported(store, op.obj, v.reason);
          } else if (op.op === 'delete') {
            const v = validateObject(op.obj);
            if (v.outcome === 'unknown') continue;
            // (Some generated "valid" objects are not: weights that add up past 2^32-1, a split of only itself.)
            const k = keyParts(v.kind, v.outcome === 'invalid' ? op.obj : v.obj);
            sink(op.source).delete({ apiVersion: op.obj.apiVersion, kind: op.obj.kind, name: k.name, ...(k.ns !== '' && { namespace: k.ns }) });
            model.remove(op.source, keyString(k));
          } else {
            sink(op.source).replaceAll(op.objs.map((obj) => ({ obj })));
            model.replaceAll(op.source, op.objs);
          }
          expectMatchesModel(store, model);
        }
        expectBoundedReports(store, logger);
      }),
      params,
    );
  });

  it('whatever the store accepted, the catalog views and both generators turn into valid xDS', () => {
    fc.assert(
      fc.property(fc.array(anyObject, { minLength: 1, maxLength: 30 }), (objs) => {
        const { store } = newStore();
        const sink = store.sinkFor('file');
        for (const o of objs) sink.apply(o);
        expectValidGenerated(store);
      }),
      { ...params, numRuns: Math.max(1, Math.ceil(RUNS / 2)) },
    );
  });

  it('a valid mesh, then hostile updates to it: the views and generated resources stay valid', () => {
    fc.assert(
      fc.property(meshWorld, fc.array(validObject, { minLength: 5, maxLength: 30 }), fc.array(anyObject, { maxLength: 15 }), (world, good, bad) => {
        const { store } = newStore();
        const sink = store.sinkFor('file');
        for (const o of [...world, ...good, ...bad]) sink.apply(o);
        expectValidGenerated(store);
      }),
      { ...params, numRuns: Math.max(1, Math.ceil(RUNS / 2)) },
    );
  });
});
