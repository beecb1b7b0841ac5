import { describe, expect, it } from 'vitest';
import type { KubeObject } from '@trellis/plugin-sdk';
import { meshConfig, pod, routeGroup, sa, slice, split, svc, target, tcpRoute } from '../catalog/test-builders.ts';
import { MeshStore } from './index.ts';
import { re2Problem } from './re2.ts';
import { fakeDeps } from './test-fakes.ts';
import { validateObject } from './validate.ts';

const reasonOf = (obj: KubeObject): string | undefined => {
  const v = validateObject(obj);
  return v.outcome === 'invalid' ? v.reason : undefined;
};

describe('RE2 (re2js): what the store accepts is what Envoy and gRPC accept', () => {
  it.each(['a{1001}', '\\Z', '\\cA', '(?=a)', '(?<=a)b', '(a)\\1', '(', '*a', 'a**'])('rejects %s', (re) => {
    expect(re2Problem(re)).toMatch(/RE2/);
    expect(reasonOf(routeGroup('ns', 'x', [{ name: 'm', pathRegex: re }]))).toMatch(/^spec\.matches\[0\]\.pathRegex: /);
    expect(reasonOf(routeGroup('ns', 'x', [{ name: 'm', headers: { 'x-a': re } }]))).toMatch(/^spec\.matches\[0\]\.headers\.x-a: /);
  });

  it.each(['a{90}', '\\z', '/api/.*', '(?P<n>a)', '(?i)/Books', '[[:alpha:]]+', '\\pL+', '[^]]', '\\Q.*\\E', '^/v[0-9]+/(books|authors)$'])('accepts %s', (re) => {
    expect(re2Problem(re)).toBeUndefined();
    expect(validateObject(routeGroup('ns', 'x', [{ name: 'm', pathRegex: re }])).outcome).toBe('accepted');
  });

  it('refuses an unterminated \\Q quote (RE2 allows it, but it would swallow what a proxy appends)', () => {
    expect(re2Problem('\\Qa.b')).toMatch(/closed by \\E/);
    expect(re2Problem('\\Qa.b\\E|c')).toBeUndefined();
  });

  it('bounds the length of a regular expression', () => {
    expect(re2Problem('a'.repeat(1025))).toMatch(/longer than 1024/);
  });

  it("refuses what Envoy's default RE2 program size limit (100) would NACK", () => {
    expect(re2Problem('a{1000}')).toMatch(/^RE2 program size 1002 is over Envoy's limit of 100/);
    expect(re2Problem('/static/[a-zA-Z0-9._-]{0,200}/')).toMatch(/program size/);
    expect(re2Problem('/api/v1/(users|orders|items|carts)/[0-9]+/(details|summary)')).toBeUndefined();
  });
});

describe('Kubernetes name rules, per kind and field', () => {
  const long = (n: number) => 'a'.repeat(n);
  it.each<[string, KubeObject, RegExp]>([
    ['a 1 MB Service name', svc('ns', long(1 << 20), [{ port: 80 }]), /^metadata\.name: .*DNS-1035 label.*at most 63 characters/],
    ['a 64-character Service name', svc('ns', long(64), [{ port: 80 }]), /^metadata\.name: .*at most 63/],
    ['a Service name starting with a digit', svc('ns', '1web', [{ port: 80 }]), /^metadata\.name: .*DNS-1035 label/],
    ['a 64-character namespace', svc(long(64), 'web', [{ port: 80 }]), /^metadata\.namespace: .*DNS-1123 label.*at most 63/],
    ['a dotted namespace', sa('a.b', 'x'), /^metadata\.namespace: .*DNS-1123 label/],
    ['a 254-character Pod name', pod('ns', long(254), 'sa', '10.0.0.1', {}), /^metadata\.name: .*DNS-1123 subdomain.*at most 253/],
    ['an upper-case ServiceAccount', sa('ns', 'Web'), /^metadata\.name: .*DNS-1123 subdomain/],
    ['a 254-character TrafficTarget name', target('ns', long(254), 'b', ['a'], [{ kind: 'TCPRoute', name: 'r' }]), /^metadata\.name: .*at most 253/],
    ['a bad Service port name', svc('ns', 'web', [{ port: 80, name: 'HTTP_1' }]), /^spec\.ports\[0\]\.name: .*DNS-1123 label/],
    ['duplicate Service port names', svc('ns', 'web', [{ port: 80, name: 'http' }, { port: 81, name: 'http' }]), /^spec\.ports\[1\]\.name: duplicate port name "http"/],
    ['unnamed ports of a multi-port Service', svc('ns', 'web', [{ port: 80 }, { port: 81, name: 'b' }]), /^spec\.ports\[0\]\.name: is required when a Service has several ports/],
    ['a bad named targetPort', svc('ns', 'web', [{ port: 80, targetPort: 'a-very-long-port-name' }]), /^spec\.ports\[0\]\.targetPort: .*IANA service name.*at most 15/],
    ['a bad appProtocol', svc('ns', 'web', [{ port: 80, appProtocol: 'no spaces' }]), /^spec\.ports\[0\]\.appProtocol: .*qualified name/],
    ['a bad label key', { ...sa('ns', 'x'), metadata: { name: 'x', namespace: 'ns', labels: { 'a/b/c': 'v' } } }, /^metadata\.labels: key "a\/b\/c".*qualified name/],
    ['a 64-character label value', { ...sa('ns', 'x'), metadata: { name: 'x', namespace: 'ns', labels: { app: long(64) } } }, /^metadata\.labels\.app: .*at most 63/],
    ['a non-string label value', { ...sa('ns', 'x'), metadata: { name: 'x', namespace: 'ns', labels: { app: 1 } } } as unknown as KubeObject, /^metadata\.labels\.app: must be a string/],
    ['a bad annotation key', { ...sa('ns', 'x'), metadata: { name: 'x', namespace: 'ns', annotations: { '-x': 'v' } } }, /^metadata\.annotations: key "-x".*qualified name/],
    ['annotations over 256 KiB', { ...sa('ns', 'x'), metadata: { name: 'x', namespace: 'ns', annotations: { a: long(256 * 1024) } } }, /^metadata\.annotations: .*262144 bytes/],
    ['a bad source ServiceAccount', target('ns', 'x', 'b', ['A'], [{ kind: 'TCPRoute', name: 'r' }]), /^spec\.sources\[0\]\.name: .*DNS-1123 subdomain/],
    ['a bad split backend', split('ns', 'x', 'root', [{ service: long(64), weight: 1 }]), /^spec\.backends\[0\]\.service: .*at most 63/],
    ['a bad Pod service account', pod('ns', 'p', 'SA', '10.0.0.1', {}), /^spec\.serviceAccountName: .*DNS-1123 subdomain/],
    ['a bad rule route name', target('ns', 'x', 'b', ['a'], [{ kind: 'TCPRoute', name: long(254) }]), /^spec\.rules\[0\]\.name: .*at most 253/],
    ['a 254-character EndpointSlice name', slice('ns', 'web', [], [], long(254)), /^metadata\.name: .*at most 253/],
    ['a bad HTTP match name', routeGroup('ns', 'x', [{ name: 'a\nb' }]), /^spec\.matches\[0\]\.name: /],
    ['a bad header name', routeGroup('ns', 'x', [{ name: 'm', headers: { 'x y': 'v' } }]), /^spec\.matches\[0\]\.headers: "x y" is not a valid HTTP header name/],
  ])('rejects %s', (_label, obj, reason) => {
    expect(reasonOf(obj)).toMatch(reason);
  });

  it('accepts the longest names Kubernetes accepts', () => {
    const ns63 = `n${long(62)}`;
    for (const o of [
      svc(ns63, `s${long(62)}`, [{ port: 80, name: 'http', targetPort: 'web-port' }], { 'example.com/app': 'v' }),
      pod(ns63, `${long(63)}.${long(63)}.${long(63)}.${long(61)}`, 'sa.with.dots', '10.0.0.1', { [`${long(200)}/${long(63)}`]: long(63), empty: '' }),
      target(ns63, long(253), 'b', ['a'], [{ kind: 'TCPRoute', name: long(253) }]),
      tcpRoute('ns', 'r', [1, 65535]),
    ])
      expect(validateObject(o), JSON.stringify(o).slice(0, 80)).toMatchObject({ outcome: 'accepted' });
  });
});

describe('TrafficSplit weights', () => {
  it('rejects a weight above 2^32-1 instead of letting it wrap to 0', () => {
    expect(reasonOf(split('ns', 'x', 'root', [{ service: 'a', weight: 4294967296 }, { service: 'b', weight: 1 }]))).toMatch(
      /^spec\.backends\[0\]\.weight: must be at most 4294967295, got 4294967296/,
    );
    expect(validateObject(split('ns', 'x', 'root', [{ service: 'a', weight: 4294967295 }, { service: 'b', weight: 0 }])).outcome).toBe('accepted');
  });

  it('rejects weights whose sum exceeds 2^32-1 (Envoy and gRPC add them up as uint32)', () => {
    expect(reasonOf(split('ns', 'x', 'root', [{ service: 'a', weight: 4294967295 }, { service: 'b', weight: 1 }]))).toMatch(
      /^spec\.backends: the weights add up to 4294967296, more than 4294967295/,
    );
  });
});

describe('MeshConfig certificate validity', () => {
  it('has a lower bound of 1m (1ms meant hundreds of issuances per second) and an upper bound of 10 years', () => {
    const reason = (d: string) => reasonOf(meshConfig({ certificate: { serviceCertValidityDuration: d } }));
    expect(reason('1ms')).toMatch(/^spec\.certificate\.serviceCertValidityDuration: must be at least 1m, got "1ms"/);
    expect(reason('59s')).toMatch(/at least 1m/);
    expect(reason('87601h')).toMatch(/at most 87600h/);
    expect(reason('1m')).toBeUndefined();
    expect(reason('87600h')).toBeUndefined();
  });
});

describe('cross-object reasons in policy statuses', () => {
  function store(objects: KubeObject[]) {
    const s = new MeshStore(fakeDeps());
    const sink = s.sinkFor('file');
    for (const o of objects) sink.apply(o);
    return s;
  }
  const statusOf = (s: MeshStore, kind: string, name: string) => s.policyStatuses().find((p) => p.kind === kind && p.name === name);

  it('gives a TrafficSplit with a missing backend service a reason (still accepted)', () => {
    const s = store([svc('ns', 'root', [{ port: 80 }]), svc('ns', 'a', [{ port: 80 }]), split('ns', 'x', 'root', [{ service: 'a', weight: 1 }, { service: 'gone', weight: 1 }])]);
    expect(statusOf(s, 'TrafficSplit', 'x')).toMatchObject({
      status: 'accepted',
      reason: 'spec.backends[1].service: Service ns/gone does not exist (its weight goes nowhere until it does)',
    });
    s.sinkFor('file').apply(svc('ns', 'gone', [{ port: 80 }]));
    expect(statusOf(s, 'TrafficSplit', 'x')?.reason).toBeUndefined();
  });

  it('gives a TrafficTarget whose route group or route is missing a reason (the rule grants nothing)', () => {
    const s = store([
      routeGroup('ns', 'rg', [{ name: 'a' }]),
      target('ns', 'x', 'b', ['a'], [{ kind: 'HTTPRouteGroup', name: 'nope' }, { kind: 'TCPRoute', name: 'gone' }, { kind: 'HTTPRouteGroup', name: 'rg', matches: ['a', 'zz'] }]),
    ]);
    expect(statusOf(s, 'TrafficTarget', 'x')).toMatchObject({
      status: 'accepted',
      reason:
        'spec.rules[0]: HTTPRouteGroup ns/nope does not exist (the rule grants nothing); spec.rules[1]: TCPRoute ns/gone does not exist (the rule grants nothing); spec.rules[2].matches: HTTPRouteGroup ns/rg has no match "zz"',
    });
    s.sinkFor('file').apply(routeGroup('ns', 'nope', [{ name: 'a' }]));
    s.sinkFor('file').apply(tcpRoute('ns', 'gone', []));
    s.sinkFor('file').apply(routeGroup('ns', 'rg', [{ name: 'a' }, { name: 'zz' }]));
    expect(statusOf(s, 'TrafficTarget', 'x')?.reason).toBeUndefined();
  });
});

describe('hostile values never crash the store nor bloat what it reports', () => {
  it('survives a null-prototype name and a BigInt port, with a reason', () => {
    const s = new MeshStore(fakeDeps());
    const sink = s.sinkFor('file');
    expect(() => sink.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: Object.create(null) as string, namespace: 'ns' } })).not.toThrow();
    expect(() => sink.apply({ ...svc('ns', 'web', []), spec: { ports: [{ port: 80n }] } })).not.toThrow();
    expect(s.sourceErrors().map((e) => e.message)).toEqual([
      'Service ns/[object Object]: metadata.name: must be a non-empty string',
      'Service ns/web: spec.ports[0].port: must be a port number 1-65535, got 80n',
    ]);
  });

  it('cuts what it shows of a huge value', () => {
    const s = new MeshStore(fakeDeps());
    const sink = s.sinkFor('file');
    sink.apply('x'.repeat(300_000) as unknown as KubeObject);
    sink.apply(svc('ns', 'n'.repeat(1 << 20), [{ port: 80 }]));
    sink.apply({ ...routeGroup('ns', 'rg', [{ name: 'm' }]), spec: { matches: [{ name: 'm', methods: ['x'.repeat(100_000)] }] } });
    for (const e of [...s.sourceErrors(), ...s.policyStatuses()]) expect(JSON.stringify(e).length).toBeLessThan(1000);
  });
});
