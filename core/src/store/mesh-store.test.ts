import { describe, expect, it } from 'vitest';
import type { KubeObject } from '@trellis/plugin-sdk';
import { keyOf } from '@trellis/plugin-sdk';
import { meshConfig, pod, routeGroup, sa, slice, split, svc, target, tcpRoute } from '../catalog/test-builders.ts';
import { meshChanged, MeshStore } from './index.ts';
import type { StoreChange } from './index.ts';
import { re2Problem } from './re2.ts';
import { fakeDeps } from './test-fakes.ts';

function setup() {
  const deps = fakeDeps();
  const store = new MeshStore(deps);
  const changes: StoreChange[] = [];
  deps.bus.subscribe(meshChanged, (c) => void changes.push(c));
  return { ...deps, store, sink: store.sinkFor('file'), changes };
}

const statusOf = (store: MeshStore, name: string) => store.policyStatuses().find((p) => p.name === name);

describe('MeshStore', () => {
  it('emits one typed event per change with old and new objects, none for an identical re-apply', async () => {
    const { sink, changes, bus } = setup();
    const s1 = svc('ns', 'a', [{ port: 80 }]);
    sink.apply(s1);
    sink.apply(structuredClone(s1));
    const s2 = svc('ns', 'a', [{ port: 81 }]);
    sink.apply(s2);
    sink.delete(keyOf(s2));
    await Promise.resolve();
    expect(bus.published.map((p) => p.topic)).toEqual(['mesh.changed', 'mesh.changed', 'mesh.changed']);
    expect(changes.map((c) => [c.kind, c.key, c.old?.spec, c.new?.spec])).toEqual([
      ['Service', '/Service/ns/a', undefined, s1.spec],
      ['Service', '/Service/ns/a', s1.spec, s2.spec],
      ['Service', '/Service/ns/a', s2.spec, undefined],
    ]);
  });

  it('indexes by kind, namespace, pods by service account and IP, slices by service', () => {
    const { store, sink } = setup();
    sink.apply(pod('ns', 'p1', 'sa1', '10.0.0.1', { app: 'a' }));
    sink.apply(pod('ns', 'p2', 'sa1', '10.0.0.2', { app: 'b' }));
    sink.apply(svc('ns', 'a', [{ port: 80 }], { app: 'a' }));
    sink.apply(slice('ns', 'a', [{ ip: '10.0.0.1', pod: 'p1' }], [{ port: 80 }]));
    expect(store.list('Pod', 'ns').map((p) => p.metadata.name).sort()).toEqual(['p1', 'p2']);
    expect(store.podsOfServiceAccount('ns', 'sa1')).toHaveLength(2);
    expect(store.podsWithIP('10.0.0.2').map((p) => p.metadata.name)).toEqual(['p2']);
    expect(store.slicesOfService('ns', 'a')).toHaveLength(1);
    expect(store.servicesSelecting(store.get('Pod', 'ns', 'p1')!).map((s) => s.metadata.name)).toEqual(['a']);
    expect(store.slicesReferencing('ns', 'p1', [])).toHaveLength(1);
    sink.apply(pod('ns', 'p2', 'sa2', '10.0.0.3', { app: 'b' })); // moved: indexes follow
    expect(store.podsOfServiceAccount('ns', 'sa1')).toHaveLength(1);
    expect(store.podsWithIP('10.0.0.2')).toEqual([]);
  });

  it('puts a namespaced object without namespace in `default`, and deletes it by the same key', () => {
    const { store, sink } = setup();
    const o: KubeObject = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'x' } };
    sink.apply(o);
    expect(store.get('ServiceAccount', 'default', 'x')).toBeDefined();
    sink.delete(keyOf(o));
    expect(store.get('ServiceAccount', 'default', 'x')).toBeUndefined();
  });

  it('ignores unknown kinds with a reason', () => {
    const { store, sink, changes } = setup();
    sink.apply({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'ns' } });
    sink.apply({ apiVersion: 'split.smi-spec.io/v1alpha1', kind: 'TrafficSplit', metadata: { name: 'old', namespace: 'ns' } });
    expect(store.ignoredObjects().map((o) => [o.kind, o.reason])).toEqual([
      ['Deployment', 'unknown kind apps/v1/Deployment: ignored'],
      ['TrafficSplit', 'unknown kind split.smi-spec.io/v1alpha1/TrafficSplit: ignored'],
    ]);
    expect(changes).toEqual([]);
  });

  it('replaceAll makes a source hold exactly the given objects, emitting only differences', async () => {
    const { store, sink, changes } = setup();
    sink.replaceAll([{ obj: sa('ns', 'a') }, { obj: sa('ns', 'b') }]);
    sink.replaceAll([{ obj: sa('ns', 'b') }, { obj: sa('ns', 'c') }]);
    await Promise.resolve();
    expect(changes.map((c) => `${c.old ? '-' : ''}${c.new ? '+' : ''}${c.key}`)).toEqual(['+/ServiceAccount/ns/a', '+/ServiceAccount/ns/b', '-/ServiceAccount/ns/a', '+/ServiceAccount/ns/c']);
    expect(store.list('ServiceAccount').map((o) => o.metadata.name).sort()).toEqual(['b', 'c']);
  });

  it('keeps objects from several sources apart: the most recent good version wins, a deletion falls back', () => {
    const { store } = setup();
    const a = store.sinkFor('a');
    const b = store.sinkFor('b');
    a.apply(svc('ns', 's', [{ port: 1 }]));
    b.apply(svc('ns', 's', [{ port: 2 }]));
    expect(store.get('Service', 'ns', 's')?.spec.ports[0]?.port).toBe(2);
    b.delete(keyOf(svc('ns', 's', [])));
    expect(store.get('Service', 'ns', 's')?.spec.ports[0]?.port).toBe(1);
    b.replaceAll([]);
    expect(store.get('Service', 'ns', 's')).toBeDefined();
  });

  it('keeps the last good version on an invalid update, reports it once, and recovers', () => {
    const { store, sink, logger, metrics } = setup();
    sink.apply(routeGroup('ns', 'rg', [{ name: 'm', pathRegex: '/ok' }]), { source: 'file', file: 'a.yaml', line: 3 });
    sink.apply(routeGroup('ns', 'rg', [{ name: 'm', pathRegex: '/(?=x)' }]), { source: 'file', file: 'a.yaml', line: 3 });
    sink.apply(routeGroup('ns', 'rg', [{ name: 'm', pathRegex: '/(?=x)' }]), { source: 'file', file: 'a.yaml', line: 3 });
    expect(store.get('HTTPRouteGroup', 'ns', 'rg')?.spec.matches[0]?.pathRegex).toBe('/ok');
    expect(statusOf(store, 'rg')).toEqual({
      kind: 'HTTPRouteGroup',
      namespace: 'ns',
      name: 'rg',
      status: 'invalid',
      reason: 'spec.matches[0].pathRegex: not a valid RE2 regular expression: error parsing regexp: invalid or unsupported Perl syntax: `(?=` (keeping the last good version)',
      source: 'file',
      file: 'a.yaml',
      line: 3,
    });
    expect(logger.lines.filter((l) => l.msg === 'object rejected')).toHaveLength(1);
    expect(metrics.value('trellis_source_errors_total', { source: 'file' })).toBe(1);
    expect(metrics.value('trellis_policy_objects', { kind: 'HTTPRouteGroup', status: 'invalid' })).toBe(1);
    sink.apply(routeGroup('ns', 'rg', [{ name: 'm', pathRegex: '/better' }]));
    expect(statusOf(store, 'rg')?.status).toBe('accepted');
    expect(metrics.value('trellis_policy_objects', { kind: 'HTTPRouteGroup', status: 'accepted' })).toBe(1);
  });

  it('collects source errors per source and clears them per file', () => {
    const { store, sink, metrics } = setup();
    sink.reportError({ file: 'a.yaml', line: 4, message: 'bad' });
    sink.reportError({ file: 'b.yaml', message: 'unreadable' });
    expect(store.sourceErrors()).toEqual([
      { source: 'file', file: 'a.yaml', line: 4, message: 'bad' },
      { source: 'file', file: 'b.yaml', message: 'unreadable' },
    ]);
    sink.clearErrors('a.yaml');
    expect(store.sourceErrors().map((e) => e.file)).toEqual(['b.yaml']);
    expect(metrics.value('trellis_source_errors_total', { source: 'file' })).toBe(2);
  });

  it('accepts OSM MeshConfig as an alias and reads its settings', () => {
    const { store, sink } = setup();
    expect(store.meshSettings()).toMatchObject({ permissive: false, egress: true, trustDomain: 'cluster.local', serviceCertValidityMs: 86_400_000 });
    sink.apply(meshConfig({ traffic: { enablePermissiveTrafficPolicyMode: true }, certificate: { serviceCertValidityDuration: '1h' } }, 'osm-mesh-config', 'config.openservicemesh.io/v1alpha2'));
    expect(store.meshSettings()).toMatchObject({ permissive: true, serviceCertValidityMs: 3_600_000 });
    sink.apply(meshConfig({}, 'z-second'));
    expect(statusOf(store, 'z-second')).toMatchObject({ status: 'ignored', reason: expect.stringMatching(/another MeshConfig/) });
  });
});

describe('validation reasons (kind/ns/name, field, why)', () => {
  const cases: [string, KubeObject, RegExp][] = [
    ['bad regex', routeGroup('ns', 'x', [{ name: 'm', pathRegex: '/(' }]), /^spec\.matches\[0\]\.pathRegex: not a valid RE2 regular expression: error parsing regexp: missing closing \)/],
    ['backreference', routeGroup('ns', 'x', [{ name: 'm', pathRegex: '(a)\\1' }]), /^spec\.matches\[0\]\.pathRegex: not a valid RE2 regular expression: .*invalid escape sequence: `\\1`/],
    ['lookbehind in header', routeGroup('ns', 'x', [{ name: 'm', headers: { a: '(?<=x)y' } }]), /^spec\.matches\[0\]\.headers\.a: not a valid RE2 regular expression: .*invalid named capture: `\(\?<=x\)y`/],
    ['duplicate match names', routeGroup('ns', 'x', [{ name: 'm' }, { name: 'm' }]), /^spec\.matches\[1\]\.name: duplicate match name "m"/],
    ['unknown method', routeGroup('ns', 'x', [{ name: 'm', methods: ['FETCH'] }]), /unknown HTTP method "FETCH"/],
    ['negative weight', split('ns', 'x', 'root', [{ service: 'a', weight: -1 }, { service: 'b', weight: 2 }]), /^spec\.backends\[0\]\.weight: must not be negative, got -1/],
    ['all-zero weights', split('ns', 'x', 'root', [{ service: 'a', weight: 0 }]), /^spec\.backends: every weight is 0/],
    ['split referencing itself', split('ns', 'x', 'root', [{ service: 'root', weight: 1 }, { service: 'a', weight: 0 }]), /references only itself/],
    ['duplicate backend', split('ns', 'x', 'root', [{ service: 'a', weight: 1 }, { service: 'a', weight: 1 }]), /listed twice/],
    ['matches on v1alpha2', { ...split('ns', 'x', 'root', [{ service: 'a', weight: 1 }], ['g']), apiVersion: 'split.smi-spec.io/v1alpha2' }, /^spec\.matches: matches need split\.smi-spec\.io\/v1alpha4/],
    ['missing split root', { ...split('ns', 'x', 'root', [{ service: 'a', weight: 1 }]), spec: { backends: [{ service: 'a', weight: 1 }] } }, /^spec\.service: is required/],
    ['unknown rule kind', target('ns', 'x', 'b', ['a'], [{ kind: 'GRPCRoute', name: 'r' }]), /^spec\.rules\[0\]\.kind: unknown rule kind "GRPCRoute"/],
    ['missing destination', { ...target('ns', 'x', 'b', ['a'], [{ kind: 'TCPRoute', name: 'r' }]), spec: { sources: [{ kind: 'ServiceAccount', name: 'a' }], rules: [{ kind: 'TCPRoute', name: 'r' }] } }, /^spec\.destination: is required/],
    ['no sources', target('ns', 'x', 'b', [], [{ kind: 'TCPRoute', name: 'r' }]), /^spec\.sources: must have at least 1/],
    ['no rules', target('ns', 'x', 'b', ['a'], []), /^spec\.rules: must have at least 1/],
    ['bad port', tcpRoute('ns', 'x', [70000]), /^spec\.matches\.ports\[0\]: must be a port number/],
    ['bad cert validity', meshConfig({ certificate: { serviceCertValidityDuration: 'soon' } }, 'x'), /^spec\.certificate\.serviceCertValidityDuration/],
    ['bad permissive flag', meshConfig({ traffic: { enablePermissiveTrafficPolicyMode: 'yes' } }, 'x'), /^spec\.traffic\.enablePermissiveTrafficPolicyMode: must be true or false/],
  ];
  it.each(cases)('%s', (_label, obj, reason) => {
    const { store, sink, changes } = setup();
    sink.apply(svc('ns', 'other', [{ port: 80 }]));
    sink.apply(obj);
    const st = statusOf(store, 'x');
    expect(st?.status).toBe('invalid');
    expect(st?.reason).toMatch(reason);
    expect(store.get('Service', 'ns', 'other')).toBeDefined(); // the rest of the mesh is unaffected
    expect(changes.every((c) => c.kind === 'Service')).toBe(true);
  });

  it('rejects a Service with a bad port and reports it as a source error, keeping the rest', () => {
    const { store, sink } = setup();
    sink.apply(svc('ns', 'bad', [{ port: 0 }]), { source: 'file', file: 'svc.yaml', line: 1 });
    expect(store.get('Service', 'ns', 'bad')).toBeUndefined();
    expect(store.policyStatuses()).toEqual([]); // not a policy kind
    expect(store.sourceErrors()).toEqual([{ source: 'file', file: 'svc.yaml', line: 1, message: 'Service ns/bad: spec.ports[0].port: must be a port number 1-65535, got 0' }]);
    sink.apply(svc('ns', 'bad', [{ port: 80 }]));
    expect(store.sourceErrors()).toEqual([]);
  });
});

describe('re2Problem', () => {
  it('accepts what RE2 accepts (named groups included), and rejects the rest', () => {
    for (const ok of ['/api/.*', '[(?=]x', '\\(?=', '^/v[0-9]+/(books|authors)$', '(?:a|b)+', '[^]]', '(?P<n>a)']) expect(re2Problem(ok), ok).toBeUndefined();
    for (const bad of ['(?=a)', '(?!a)', '(?<=a)b', '(?<!a)b', '(a)\\1', '(?<n>a)\\k<n>', '(', '*a']) expect(re2Problem(bad), bad).toBeDefined();
  });
});
