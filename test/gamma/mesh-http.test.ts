import { describe, expect, it } from 'vitest';
import type { KubeObject } from '@trellis/plugin-sdk';
import { objects } from '@trellis/plugin-sdk/testing';
import { GammaPipeline } from '../support/gamma-pipeline.ts';
import { requestHeadersVia, responseHeadersVia } from '../support/envoy-route-eval.ts';
import type { OutboundRequest, Outcome } from '../support/envoy-route-eval.ts';

/**
 * The Gateway API Mesh conformance HTTP scenarios (conformance/tests/mesh in kubernetes-sigs/gateway-api),
 * replayed against the Envoy config Trellis generates: the fixture of conformance/mesh/manifests.yaml goes
 * through the real store, catalog and generator; each request a conformance test sends is evaluated against
 * the client sidecar's listener and route tables, and the backend it reaches (or the status it gets) is
 * asserted. Names (MeshBasic, ...) are the conformance tests'.
 */

const { GAMMA_NS: NS, GAMMA_CONSUMER_NS: CONSUMER, gammaConformanceMesh, gatewayRoute, serviceParent } = objects;
const VIP = { echo: '10.96.0.10', 'echo-v1': '10.96.0.11', 'echo-v2': '10.96.0.12' } as const;
const POD = { 'echo-v1': '10.10.0.1', 'echo-v2': '10.10.0.2' } as const;
const client = { namespace: NS, serviceAccount: 'client' };
const consumer = { namespace: CONSUMER, serviceAccount: 'client' };

type Svc = keyof typeof VIP;
const route = (name: string, spec: Record<string, unknown>, ns = NS): KubeObject => gatewayRoute('HTTPRoute', ns, name, spec);
const to = (svc: Svc, path = '/', extra: Partial<OutboundRequest> = {}): OutboundRequest => ({ ip: VIP[svc], port: 80, host: svc, path, ...extra });
const be = (name: string, port = 8080, weight?: number) => ({ name, port, ...(weight !== undefined && { weight }) });
const prefix = (value: string) => ({ path: { type: 'PathPrefix', value } });

/** The Service a routed request reaches (from the cluster `ns/svc|port`), or the status it gets. */
function reached(o: Outcome): string {
  if (o.kind === 'route') {
    if (o.clusters.length !== 1) return `split:${o.clusters.map((c) => `${c.name}=${c.weight}`).join(',')}`;
    return /\/([^/|]+)\|/.exec(o.clusters[0]?.name ?? '')?.[1] ?? `?${o.clusters[0]?.name}`;
  }
  if (o.kind === 'direct') return String(o.status);
  if (o.kind === 'redirect') return `${o.status} ${o.location}`;
  return o.kind === 'none' ? `none: ${o.why}` : o.kind;
}

function mesh(...routes: KubeObject[]): GammaPipeline {
  return new GammaPipeline([...gammaConformanceMesh(), ...routes]);
}

describe('Gateway API Mesh conformance (HTTP), via the generated Envoy route tables', () => {
  it('MeshBasic: without a route, a request to echo reaches the echo Service', () => {
    expect(reached(mesh().send(client, to('echo')))).toBe('echo');
  });

  it('MeshTrafficSplit: a port-less parentRef; Exact /v1 -> echo-v1, /v2 -> echo-v2, anything else 404', () => {
    const p = mesh(route('mesh-split', { parentRefs: [serviceParent('echo')], rules: [{ matches: [{ path: { type: 'Exact', value: '/v1' } }], backendRefs: [be('echo-v1', 80)] }, { matches: [{ path: { type: 'Exact', value: '/v2' } }], backendRefs: [be('echo-v2', 80)] }] }));
    expect(reached(p.send(client, to('echo', '/v1')))).toBe('echo-v1');
    expect(reached(p.send(client, to('echo', '/v2')))).toBe('echo-v2');
    expect(reached(p.send(client, to('echo', '/v1/x')))).toBe('404');
  });

  it('MeshHTTPRouteSimpleSameNamespace: parent echo:80 -> echo-v1', () => {
    const p = mesh(route('gateway-conformance-mesh-test', { parentRefs: [serviceParent('echo', 80)], rules: [{ backendRefs: [be('echo-v1')] }] }));
    expect(reached(p.send(client, to('echo')))).toBe('echo-v1');
  });

  it('MeshHTTPRouteMatching: PathPrefix matches whole segments; header matches; longest prefix wins', () => {
    const p = mesh(
      route('mesh-matching', {
        parentRefs: [serviceParent('echo', 80)],
        rules: [
          { matches: [prefix('/'), { headers: [{ name: 'version', value: 'one' }] }], backendRefs: [be('echo-v1')] },
          { matches: [prefix('/v2'), { headers: [{ name: 'version', value: 'two' }] }], backendRefs: [be('echo-v2')] },
        ],
      }),
    );
    const cases: [string, Record<string, string>, string][] = [
      ['/', {}, 'echo-v1'],
      ['/example', {}, 'echo-v1'],
      ['/', { version: 'one' }, 'echo-v1'],
      ['/v2', {}, 'echo-v2'],
      ['/v2/', {}, 'echo-v2'],
      ['/v2/example', {}, 'echo-v2'],
      ['/', { version: 'two' }, 'echo-v2'],
      ['/v2example', {}, 'echo-v1'],
      ['/foo/v2/example', {}, 'echo-v1'],
    ];
    for (const [path, headers, want] of cases) expect(`${path} ${JSON.stringify(headers)} -> ${reached(p.send(client, to('echo', path, { headers })))}`).toBe(`${path} ${JSON.stringify(headers)} -> ${want}`);
  });

  it('MeshHTTPRouteQueryParamMatching: query matches, combinations and precedence; unmatched 404', () => {
    const q = (value: string) => [{ name: 'animal', value }];
    const p = mesh(
      route('mesh-query-param-matching', {
        parentRefs: [serviceParent('echo', 80)],
        rules: [
          { matches: [{ queryParams: q('whale') }], backendRefs: [be('echo-v1')] },
          { matches: [{ queryParams: q('dolphin') }], backendRefs: [be('echo-v2')] },
          { matches: [{ ...prefix('/path1'), queryParams: q('whale') }], backendRefs: [be('echo-v1')] },
          { matches: [{ headers: [{ name: 'version', value: 'one' }], queryParams: q('whale') }], backendRefs: [be('echo-v2')] },
          { matches: [{ ...prefix('/path3'), queryParams: q('shark') }, { ...prefix('/path4'), headers: [{ name: 'version', value: 'three' }], queryParams: q('kraken') }], backendRefs: [be('echo-v1')] },
          { matches: [prefix('/path5')], backendRefs: [be('echo-v1')] },
          { matches: [{ queryParams: q('hydra') }], backendRefs: [be('echo-v2')] },
        ],
      }),
    );
    const cases: [string, Record<string, string>, string][] = [
      ['/?animal=whale', {}, 'echo-v1'],
      ['/?animal=dolphin', {}, 'echo-v2'],
      ['/?animal=whale&otherparam=irrelevant', {}, 'echo-v1'],
      ['/?animal=dolphin&color=yellow', {}, 'echo-v2'],
      ['/?color=blue', {}, '404'],
      ['/?animal=dog', {}, '404'],
      ['/?animal=whaledolphin', {}, '404'],
      ['/', {}, '404'],
      ['/path1?animal=whale', {}, 'echo-v1'],
      ['/?animal=whale', { version: 'one' }, 'echo-v2'],
      ['/path3?animal=shark', {}, 'echo-v1'],
      ['/path4?animal=kraken', { version: 'three' }, 'echo-v1'],
      ['/?animal=shark', {}, '404'],
      ['/path4?animal=kraken', {}, '404'],
      ['/path5?animal=hydra', {}, 'echo-v1'],
    ];
    for (const [path, headers, want] of cases) expect(`${path} ${JSON.stringify(headers)} -> ${reached(p.send(client, to('echo', path, { headers })))}`).toBe(`${path} ${JSON.stringify(headers)} -> ${want}`);
  });

  it('MeshHTTPRouteWeight: backends weighted 70/30', () => {
    const p = mesh(route('mesh-weighted-backends', { parentRefs: [serviceParent('echo', 80)], rules: [{ backendRefs: [be('echo-v1', 8080, 70), be('echo-v2', 8080, 30)] }] }));
    expect(reached(p.send(client, to('echo')))).toBe(`split:${NS}/echo-v1|8080=70,${NS}/echo-v2|8080=30`);
  });

  it('MeshGRPCRouteWeight (Envoy): a weight-0 backend that does not exist gets nothing; ResolvedRefs says so', () => {
    const p = mesh(gatewayRoute('GRPCRoute', NS, 'mesh-grpc-weighted-backends', { parentRefs: [serviceParent('echo', 7070)], rules: [{ backendRefs: [be('echo-v1', 7070, 70), be('echo-v2', 7070, 30), be('echo-v3', 7070, 0)] }] }));
    const o = p.send(client, { ip: VIP.echo, port: 7070, host: 'echo:7070', path: '/grpc.testing.TestService/UnaryCall', method: 'POST', headers: { 'content-type': 'application/grpc' } });
    expect(reached(o)).toBe(`split:${NS}/echo-v1|7070=70,${NS}/echo-v2|7070=30`);
    const st = p.store.policyStatuses().find((s) => s.kind === 'GRPCRoute');
    expect(st?.parents?.[0]?.conditions.find((c) => c.type === 'ResolvedRefs')).toMatchObject({ status: 'False', reason: 'BackendNotFound' });
  });

  it('a missing backend with weight keeps its share and that share gets a 500 (Envoy: cluster not found -> 500)', () => {
    const p = mesh(route('r', { parentRefs: [serviceParent('echo', 80)], rules: [{ backendRefs: [be('echo-v1', 8080, 1), be('echo-v3', 8080, 1)] }] }));
    const o = p.send(client, to('echo'));
    expect(reached(o)).toBe(`split:${NS}/echo-v1|8080=1,gamma-unresolved-backend=1`);
    expect(o.kind === 'route' && o.clusterNotFoundStatus).toBe(500);
  });

  it('MeshFrontend: a route on echo-v2 applies to traffic for the Service, not to the pod IP', () => {
    const p = mesh(route('mesh-split-v1', { parentRefs: [serviceParent('echo-v2')], rules: [{ filters: [{ type: 'ResponseHeaderModifier', responseHeaderModifier: { set: [{ name: 'X-Header-Set', value: 'set' }] } }], backendRefs: [be('echo-v2', 80)] }] }));
    const viaService = p.send(client, to('echo-v2'));
    expect(reached(viaService)).toBe('echo-v2');
    expect(responseHeadersVia(viaService)['x-header-set']).toBe('set');
    const viaPod = p.send(client, { ip: POD['echo-v2'], port: 8080, host: `${POD['echo-v2']}:8080`, path: '/' });
    expect(viaPod.kind).not.toBe('none');
    expect(responseHeadersVia(viaPod)['x-header-set']).toBeUndefined();
  });

  it('MeshFrontendHostname: routes bind to the cluster IP, not the Host header', () => {
    const p = mesh(route('mesh-split-v1', { parentRefs: [serviceParent('echo-v2')], rules: [{ filters: [{ type: 'ResponseHeaderModifier', responseHeaderModifier: { set: [{ name: 'X-Header-Set', value: 'set' }] } }], backendRefs: [be('echo-v2', 80)] }] }));
    expect(responseHeadersVia(p.send(client, to('echo-v2', '/', { host: 'echo-v1' })))['x-header-set']).toBe('set');
    expect(responseHeadersVia(p.send(client, to('echo-v1', '/', { host: 'echo-v2' })))['x-header-set']).toBeUndefined();
  });

  it('MeshPorts: a parentRef port limits the route to that port; without port it covers every port', () => {
    const header = (v: string) => [{ type: 'ResponseHeaderModifier', responseHeaderModifier: { set: [{ name: 'X-Header-Set', value: v }] } }];
    const p = mesh(
      route('mesh-split-v1', { parentRefs: [serviceParent('echo-v1', 80)], rules: [{ filters: header('v1'), backendRefs: [be('echo-v1', 80)] }] }),
      route('mesh-split-v2', { parentRefs: [serviceParent('echo-v2')], rules: [{ filters: header('v2'), backendRefs: [be('echo-v2', 80)] }] }),
    );
    const h = (svc: Svc, port: number) => responseHeadersVia(p.send(client, { ip: VIP[svc], port, host: `${svc}:${port}`, path: '/' }))['x-header-set'];
    expect(h('echo-v1', 80)).toBe('v1');
    expect(h('echo-v1', 8080)).toBeUndefined();
    expect(h('echo-v2', 80)).toBe('v2');
    expect(h('echo-v2', 8080)).toBe('v2');
  });

  it('MeshConsumerRoute: a route in the consumer namespace applies to its clients only', () => {
    const p = mesh(route('mesh-echo-add-header', { parentRefs: [serviceParent('echo-v1', undefined, NS)], rules: [{ filters: [{ type: 'ResponseHeaderModifier', responseHeaderModifier: { set: [{ name: 'X-Header-Set', value: 'set' }] } }], backendRefs: [{ name: 'echo-v1', namespace: NS, port: 80 }] }] }, CONSUMER));
    const fromConsumer = p.send(consumer, { ip: VIP['echo-v1'], port: 80, host: `echo-v1.${NS}`, path: '/' });
    expect(reached(fromConsumer)).toBe('echo-v1');
    expect(responseHeadersVia(fromConsumer)['x-header-set']).toBe('set');
    expect(responseHeadersVia(p.send(client, to('echo-v1')))['x-header-set']).toBeUndefined();
  });

  it('MeshHTTPRoute303/307/308Redirect and RedirectHostAndStatus: the status and Location, not followed', () => {
    const rr = (value: string, requestRedirect: Record<string, unknown>) => ({ matches: [prefix(value)], filters: [{ type: 'RequestRedirect', requestRedirect }] });
    const p = mesh(
      route('redirects', {
        parentRefs: [serviceParent('echo', 80)],
        rules: [rr('/redirect', { statusCode: 303 }), rr('/temporary', { statusCode: 307 }), rr('/permanent', { statusCode: 308 }), rr('/hostname-redirect', { hostname: 'example.org' }), rr('/host-and-status', { statusCode: 301, hostname: 'example.org' })],
      }),
    );
    expect(reached(p.send(client, to('echo', '/redirect')))).toBe('303 http://echo/redirect');
    expect(reached(p.send(client, to('echo', '/temporary')))).toBe('307 http://echo/temporary');
    expect(reached(p.send(client, to('echo', '/permanent')))).toBe('308 http://echo/permanent');
    expect(reached(p.send(client, to('echo', '/hostname-redirect')))).toBe('302 http://example.org/hostname-redirect');
    expect(reached(p.send(client, to('echo', '/host-and-status')))).toBe('301 http://example.org/host-and-status');
  });

  it('MeshHTTPRouteRedirectPath / RedirectPort / SchemeRedirect', () => {
    const rr = (value: string, requestRedirect: Record<string, unknown>) => ({ matches: [prefix(value)], filters: [{ type: 'RequestRedirect', requestRedirect }] });
    const rp = { type: 'ReplacePrefixMatch', replacePrefixMatch: '/replacement-prefix' };
    const p = mesh(
      route('redirect-path', {
        parentRefs: [serviceParent('echo', 80)],
        rules: [
          rr('/original-prefix', { path: rp }),
          rr('/full', { path: { type: 'ReplaceFullPath', replaceFullPath: '/full-path-replacement' } }),
          rr('/path-and-host', { hostname: 'example.org', path: rp }),
          rr('/path-and-status', { path: rp, statusCode: 301 }),
          rr('/full-path-and-host', { hostname: 'example.org', path: { type: 'ReplaceFullPath', replaceFullPath: '/replacement-full' } }),
          rr('/full-path-and-status', { path: { type: 'ReplaceFullPath', replaceFullPath: '/replacement-full' }, statusCode: 301 }),
          rr('/port', { port: 8083 }),
          rr('/port-and-host', { hostname: 'example.org', port: 8083 }),
          rr('/port-and-status', { port: 8083, statusCode: 301 }),
          rr('/port-and-host-and-status', { port: 8083, hostname: 'example.org', statusCode: 302 }),
          rr('/scheme', { scheme: 'https' }),
          rr('/scheme-and-host', { hostname: 'example.org', scheme: 'https' }),
          rr('/scheme-and-status', { scheme: 'https', statusCode: 301 }),
          rr('/scheme-and-host-and-status', { scheme: 'https', statusCode: 302, hostname: 'example.org' }),
        ],
      }),
    );
    expect(reached(p.send(client, to('echo', '/original-prefix/lemon')))).toBe('302 http://echo/replacement-prefix/lemon');
    expect(reached(p.send(client, to('echo', '/full/path/original')))).toBe('302 http://echo/full-path-replacement');
    expect(reached(p.send(client, to('echo', '/path-and-host')))).toBe('302 http://example.org/replacement-prefix');
    expect(reached(p.send(client, to('echo', '/path-and-status')))).toBe('301 http://echo/replacement-prefix');
    expect(reached(p.send(client, to('echo', '/full-path-and-host')))).toBe('302 http://example.org/replacement-full');
    expect(reached(p.send(client, to('echo', '/full-path-and-status')))).toBe('301 http://echo/replacement-full');
    expect(reached(p.send(client, to('echo', '/port')))).toBe('302 http://echo:8083/port');
    expect(reached(p.send(client, to('echo', '/port-and-host')))).toBe('302 http://example.org:8083/port-and-host');
    expect(reached(p.send(client, to('echo', '/port-and-status')))).toBe('301 http://echo:8083/port-and-status');
    expect(reached(p.send(client, to('echo', '/scheme-and-host')))).toBe('302 https://example.org/scheme-and-host');
    expect(reached(p.send(client, to('echo', '/scheme-and-status')))).toBe('301 https://echo/scheme-and-status');
    expect(reached(p.send(client, to('echo', '/port-and-host-and-status')))).toBe('302 http://example.org:8083/port-and-host-and-status');
    expect(reached(p.send(client, to('echo', '/scheme')))).toBe('302 https://echo/scheme');
    expect(reached(p.send(client, to('echo', '/scheme-and-host-and-status')))).toBe('302 https://example.org/scheme-and-host-and-status');
  });

  it('MeshHTTPRouteRewritePath: prefix and full-path rewrites, with header edits', () => {
    const rw = (value: string, path: Record<string, unknown>, more: unknown[] = []) => ({ matches: [prefix(value)], filters: [{ type: 'URLRewrite', urlRewrite: { path } }, ...more], backendRefs: [be('echo-v1', 80)] });
    const edits = { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'X-Header-Set', value: 'set-overwrites-values' }], add: [{ name: 'X-Header-Add', value: 'header-val-1' }, { name: 'X-Header-Add-Append', value: 'header-val-2' }], remove: ['X-Header-Remove'] } };
    const p = mesh(
      route('mesh-rewrite-path', {
        parentRefs: [serviceParent('echo', 80)],
        rules: [
          rw('/prefix/one', { type: 'ReplacePrefixMatch', replacePrefixMatch: '/one' }),
          rw('/strip-prefix', { type: 'ReplacePrefixMatch', replacePrefixMatch: '/' }),
          rw('/full/one', { type: 'ReplaceFullPath', replaceFullPath: '/one' }),
          rw('/full/rewrite-path-and-modify-headers', { type: 'ReplaceFullPath', replaceFullPath: '/test' }, [edits]),
          rw('/prefix/rewrite-path-and-modify-headers', { type: 'ReplacePrefixMatch', replacePrefixMatch: '/prefix' }, [edits]),
        ],
      }),
    );
    const path = (o: Outcome) => (o.kind === 'route' ? `${reached(o)} ${o.path}` : reached(o));
    expect(path(p.send(client, to('echo', '/prefix/one/two')))).toBe('echo-v1 /one/two');
    expect(path(p.send(client, to('echo', '/strip-prefix/three')))).toBe('echo-v1 /three');
    expect(path(p.send(client, to('echo', '/strip-prefix')))).toBe('echo-v1 /');
    expect(path(p.send(client, to('echo', '/full/one/two')))).toBe('echo-v1 /one');
    const sent = { 'X-Header-Remove': 'remove-val', 'X-Header-Add-Append': 'append-val-1', 'X-Header-Set': 'set-val' };
    for (const [from, want] of [['/full/rewrite-path-and-modify-headers/test', '/test'], ['/prefix/rewrite-path-and-modify-headers/one', '/prefix/one']] as const) {
      const o = p.send(client, to('echo', from, { headers: sent }));
      expect(path(o)).toBe(`echo-v1 ${want}`);
      const h = requestHeadersVia(o);
      expect([h['x-header-add'], h['x-header-add-append'], h['x-header-set'], h['x-header-remove']]).toEqual(['header-val-1', 'append-val-1,header-val-2', 'set-overwrites-values', undefined]);
    }
  });

  it('MeshHTTPRouteRequestHeaderModifier, on the rule and on the backendRef', () => {
    for (const onBackend of [false, true]) {
      const mod = (m: Record<string, unknown>) => [{ type: 'RequestHeaderModifier', requestHeaderModifier: m }];
      const rule = (value: string, m: Record<string, unknown>) =>
        onBackend ? { matches: [prefix(value)], backendRefs: [{ ...be('echo-v1'), filters: mod(m) }] } : { matches: [prefix(value)], filters: mod(m), backendRefs: [be('echo-v1')] };
      const p = mesh(
        route('mesh-request-header-modifier', {
          parentRefs: [serviceParent('echo', 80)],
          rules: [
            rule('/set', { set: [{ name: 'X-Header-Set', value: 'set-overwrites-values' }] }),
            rule('/add', { add: [{ name: 'X-Header-Add', value: 'add-appends-values' }] }),
            rule('/remove', { remove: ['X-Header-Remove'] }),
            rule('/multiple', { set: [{ name: 'X-Header-Set-1', value: 'header-set-1' }], add: [{ name: 'X-Header-Add-1', value: 'header-add-1' }], remove: ['X-Header-Remove-1'] }),
            rule('/case-insensitivity', { set: [{ name: 'X-Header-Set', value: 'header-set' }], add: [{ name: 'X-Header-Add', value: 'header-add' }], remove: ['X-Header-Remove'] }),
          ],
        }),
      );
      const h = (path: string, headers: Record<string, string>) => {
        const o = p.send(client, to('echo', path, { headers }));
        expect(reached(o)).toBe('echo-v1');
        return requestHeadersVia(o);
      };
      expect(h('/set', { 'X-Header-Set': 'some-other-value' })['x-header-set']).toBe('set-overwrites-values');
      expect(h('/add', { 'X-Header-Add': 'some-value' })['x-header-add']).toBe('some-value,add-appends-values');
      expect(h('/add', {})['x-header-add']).toBe('add-appends-values');
      expect(h('/remove', { 'X-Header-Remove': 'val' })['x-header-remove']).toBeUndefined();
      const m = h('/multiple', { 'X-Header-Set-1': 'x', 'X-Header-Remove-1': 'y' });
      expect([m['x-header-set-1'], m['x-header-add-1'], m['x-header-remove-1']]).toEqual(['header-set-1', 'header-add-1', undefined]);
      // Header names are case-insensitive: lower-case request headers are set, appended to and removed.
      const ci = h('/case-insensitivity', { 'x-header-set': 'original-value', 'x-header-add': 'original-value', 'x-header-remove': 'header-remove' });
      expect([ci['x-header-set'], ci['x-header-add'], ci['x-header-remove']]).toEqual(['header-set', 'original-value,header-add', undefined]);
    }
  });

  it('MeshHTTPRouteNamedRouteRule: named and unnamed rules both route', () => {
    const p = mesh(route('mesh-http-named-rules', { parentRefs: [serviceParent('echo', 80)], rules: [{ name: 'named-rule', matches: [prefix('/named')], backendRefs: [be('echo-v1')] }, { matches: [prefix('/unnamed')], backendRefs: [be('echo-v2')] }] }));
    const named = p.send(client, to('echo', '/named'));
    expect(reached(named)).toBe('echo-v1');
    expect(named.kind === 'route' && named.routeName).toMatch(new RegExp(`^${NS}/mesh-http-named-rules\\|named-rule\\|\\d+$`));
    expect(reached(p.send(client, to('echo', '/unnamed')))).toBe('echo-v2');
  });

  it('MeshGRPCRouteRequestHeaderModifier (Envoy): header matches pick the rule, its header edits apply', () => {
    const mod = (m: Record<string, unknown>) => [{ type: 'RequestHeaderModifier', requestHeaderModifier: m }];
    const rule = (v: string, m: Record<string, unknown>, backend: string) => ({ matches: [{ headers: [{ name: 'x-test-case', value: v }] }], filters: mod(m), backendRefs: [be(backend, 7070)] });
    const p = mesh(
      gatewayRoute('GRPCRoute', NS, 'grpc-request-header-modifier', {
        parentRefs: [serviceParent('echo', 7070)],
        rules: [rule('set', { set: [{ name: 'x-header-set', value: 'set-overwrites-values' }] }, 'echo-v1'), rule('add', { add: [{ name: 'x-header-add', value: 'add-appends-values' }] }, 'echo-v1'), rule('multi', { set: [{ name: 'x-header-set-1', value: 'header-set-1' }], remove: ['x-header-remove-1'] }, 'echo-v2')],
      }),
    );
    const call = (testCase: string, headers: Record<string, string> = {}) => p.send(client, { ip: VIP.echo, port: 7070, host: 'echo:7070', path: '/grpc.testing.TestService/UnaryCall', method: 'POST', headers: { 'x-test-case': testCase, ...headers } });
    expect(requestHeadersVia(call('set', { 'x-header-set': 'old' }))['x-header-set']).toBe('set-overwrites-values');
    expect(requestHeadersVia(call('add'))['x-header-add']).toBe('add-appends-values');
    const multi = call('multi', { 'x-header-remove-1': 'y' });
    expect(reached(multi)).toBe('echo-v2');
    expect(requestHeadersVia(multi)['x-header-remove-1']).toBeUndefined();
    expect(reached(call('none'))).toBe('404');
  });

  it('precedence with SMI: a route on a Service replaces its TrafficSplit; removing the route brings the split back', () => {
    const split = objects.split(NS, 'echo-split', 'echo', [{ service: 'echo-v2', weight: 1 }]);
    const httpRoute = route('r', { parentRefs: [serviceParent('echo', 80)], rules: [{ backendRefs: [be('echo-v1')] }] });
    const p = mesh(split, httpRoute);
    expect(reached(p.send(client, to('echo')))).toBe('echo-v1');
    p.replace([...gammaConformanceMesh(), split]);
    expect(reached(p.send(client, to('echo')))).toBe('echo-v2');
  });

  it('access stays with TrafficTarget: in SMI mode a backend the client may not reach gets a 500 share', () => {
    const smi = gammaConformanceMesh().filter((o) => o.kind !== 'MeshConfig');
    const tcp = objects.tcpRoute(NS, 'all', []);
    const allowV1 = objects.target(NS, 'client-to-v1', 'echo-v1', ['client'], [{ kind: 'TCPRoute', name: 'all' }]);
    const p = new GammaPipeline([...smi, tcp, allowV1, route('r', { parentRefs: [serviceParent('echo', 80)], rules: [{ backendRefs: [be('echo-v1', 8080, 1), be('echo-v2', 8080, 1)] }] })]);
    expect(reached(p.send(client, to('echo')))).toBe(`split:${NS}/echo-v1|8080=1,gamma-unresolved-backend=1`);
  });
});
