import { describe, expect, it } from 'vitest';
import { gatewayRoute, serviceParent, svc } from '../catalog/test-builders.ts';
import { MeshStore } from './index.ts';
import type { GatewayRouteObj } from './index.ts';
import { validateObject } from './validate.ts';
import { fakeDeps } from './test-fakes.ts';

const route = (spec: Record<string, unknown>, kind: 'HTTPRoute' | 'GRPCRoute' = 'HTTPRoute', apiVersion?: string) => gatewayRoute(kind, 'mesh', 'r', spec, apiVersion);
const reason = (spec: Record<string, unknown>, kind: 'HTTPRoute' | 'GRPCRoute' = 'HTTPRoute') => {
  const v = validateObject(route(spec, kind));
  return v.outcome === 'invalid' ? v.reason : `not invalid: ${v.outcome}`;
};
const objOf = (v: ReturnType<typeof validateObject>): GatewayRouteObj => {
  if (v.outcome !== 'accepted') throw new Error(`not accepted: ${v.reason}`);
  return v.obj as GatewayRouteObj;
};
const parent = [serviceParent('echo', 80)];
const backend = (name: string, port = 8080, weight?: number) => ({ name, port, ...(weight !== undefined && { weight }) });

describe('Gateway API routes in the store', () => {
  it('accepts v1 / v1beta1 HTTPRoute and v1 / v1alpha2 GRPCRoute, filling the spec defaults', () => {
    for (const v of ['v1', 'v1beta1']) {
      const r = validateObject(route({ parentRefs: parent, rules: [{ backendRefs: [backend('echo-v1')] }] }, 'HTTPRoute', `gateway.networking.k8s.io/${v}`));
      expect(r.outcome).toBe('accepted');
      const spec = objOf(r).spec;
      expect(spec.parentRefs).toEqual([{ group: '', kind: 'Service', namespace: 'mesh', name: 'echo', port: 80 }]);
      expect(spec.rules[0]?.matches).toEqual([{ path: { type: 'PathPrefix', value: '/' }, headers: [], queryParams: [] }]);
      expect(spec.rules[0]?.backendRefs).toEqual([{ group: '', kind: 'Service', namespace: 'mesh', name: 'echo-v1', port: 8080, weight: 1, filters: [] }]);
    }
    for (const v of ['v1', 'v1alpha2'])
      expect(validateObject(route({ parentRefs: parent, rules: [{ matches: [{ method: { service: 'a.B' } }] }] }, 'GRPCRoute', `gateway.networking.k8s.io/${v}`)).outcome).toBe('accepted');
    expect(validateObject(route({ parentRefs: parent }, 'HTTPRoute', 'gateway.networking.k8s.io/v1alpha1')).outcome).toBe('unknown');
  });

  it('normalizes header names to lower case and a PathPrefix without its trailing slash', () => {
    const r = validateObject(route({ parentRefs: parent, rules: [{ matches: [{ path: { value: '/v2/' }, headers: [{ name: 'Version', value: 'two' }] }] }] }));
    const m = objOf(r).spec.rules[0]?.matches[0];
    expect(m).toEqual({ path: { type: 'PathPrefix', value: '/v2' }, headers: [{ name: 'version', type: 'Exact', value: 'two' }], queryParams: [] });
  });

  it('refuses bad fields with the field and why', () => {
    expect(reason({ parentRefs: parent, rules: [{ matches: [{ path: { type: 'Exact', value: 'v1' } }] }] })).toBe('spec.rules[0].matches[0].path.value: must be an absolute path starting with "/", got "v1"');
    expect(reason({ parentRefs: parent, rules: [{ matches: [{ path: { type: 'RegularExpression', value: '/(a' } }] }] })).toMatch(/^spec\.rules\[0\]\.matches\[0\]\.path\.value: not a valid RE2 regular expression/);
    expect(reason({ parentRefs: parent, rules: [{ matches: [{ method: 'FETCH' }] }] })).toMatch(/^spec\.rules\[0\]\.matches\[0\]\.method: must be one of GET/);
    expect(reason({ parentRefs: parent, rules: [{ backendRefs: [{ name: 'echo-v1' }] }] })).toBe('spec.rules[0].backendRefs[0].port: is required for a Service backend');
    expect(reason({ parentRefs: parent, rules: [{ backendRefs: [backend('echo-v1', 80, -1)] }] })).toBe('spec.rules[0].backendRefs[0].weight: must be an integer 0-1000000, got -1');
    expect(reason({ parentRefs: parent, rules: [{ filters: [{ type: 'RequestRedirect', requestRedirect: { statusCode: 304 } }] }] })).toBe('spec.rules[0].filters[0].requestRedirect.statusCode: must be 301, 302, 303, 307 or 308, got 304');
    expect(reason({ parentRefs: parent, rules: [{ filters: [{ type: 'RequestRedirect', requestRedirect: {} }], backendRefs: [backend('a')] }] })).toBe('spec.rules[0]: RequestRedirect and backendRefs cannot be used together');
    expect(reason({ parentRefs: parent, rules: [{ matches: [{ path: { type: 'Exact', value: '/a' } }], filters: [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/b' } } }] }] })).toBe(
      'spec.rules[0].filters[0].urlRewrite.path: ReplacePrefixMatch needs every match of the rule to be a PathPrefix match',
    );
    expect(reason({ parentRefs: parent, rules: [{ timeouts: { request: '10 seconds' } }] })).toMatch(/^spec\.rules\[0\]\.timeouts\.request: must be a Gateway API duration/);
    expect(reason({ parentRefs: parent, rules: [{ timeouts: { request: '1s', backendRequest: '2s' } }] })).toBe('spec.rules[0].timeouts.backendRequest: must not be longer than timeouts.request');
    expect(reason({ parentRefs: parent, rules: [{ filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x', value: 'a\r\nb' }] } }] }] })).toMatch(/must not contain CR, LF or NUL/);
    expect(reason({ parentRefs: parent, rules: [{ matches: [{ method: {} }] }] }, 'GRPCRoute')).toBe('spec.rules[0].matches[0].method: an Exact method match needs service, method or both');
    expect(reason({ parentRefs: parent, rules: [{ matches: [{ method: { method: 'a/b' } }] }] }, 'GRPCRoute')).toBe('spec.rules[0].matches[0].method.method: "a/b" is not a valid gRPC method name');
    expect(reason({ parentRefs: parent, rules: [{ filters: [{ type: 'URLRewrite', urlRewrite: { hostname: 'x' } }] }] }, 'GRPCRoute')).toMatch(/^spec\.rules\[0\]\.filters\[0\]\.type: must be one of RequestHeaderModifier, ResponseHeaderModifier, RequestMirror/);
    expect(reason({ parentRefs: [serviceParent('Echo')] })).toMatch(/^spec\.parentRefs\[0\]\.name:/);
  });

  it('ignores a route with no Service parent (a Gateway route is not the mesh\'s), saying why', () => {
    const v = validateObject(route({ parentRefs: [{ name: 'my-gateway' }], rules: [] }));
    expect(v.outcome).toBe('ignored');
    expect(v.outcome === 'ignored' && v.reason).toMatch(/no parentRef names a Service/);
  });

  it('keeps the last good version of an invalid update and lists per-parent Accepted / ResolvedRefs in policyStatuses', () => {
    const store = new MeshStore(fakeDeps());
    const sink = store.sinkFor('file');
    sink.apply(svc('mesh', 'echo', [{ port: 80, name: 'http' }]));
    sink.apply(svc('mesh', 'echo-v1', [{ port: 8080, name: 'http' }]));
    const good = route({ parentRefs: [serviceParent('echo', 80), serviceParent('echo', 81), serviceParent('nope')], rules: [{ backendRefs: [backend('echo-v1'), backend('echo-v3', 8080, 0)] }] });
    sink.apply(good);
    sink.apply(route({ parentRefs: parent, rules: [{ matches: [{ path: { type: 'Prefix' } }] }] }));
    expect(store.get('HTTPRoute', 'mesh', 'r')?.spec.parentRefs).toHaveLength(3);
    const st = store.policyStatuses().find((p) => p.kind === 'HTTPRoute');
    expect(st?.status).toBe('invalid');
    expect(st?.reason).toBe('spec.rules[0].matches[0].path.type: must be one of Exact, PathPrefix, RegularExpression, got "Prefix" (keeping the last good version)');
    sink.apply(good);
    const ok = store.policyStatuses().find((p) => p.kind === 'HTTPRoute');
    expect(ok?.status).toBe('accepted');
    const resolved = { type: 'ResolvedRefs', status: 'False', reason: 'BackendNotFound', message: 'spec.rules[0].backendRefs[1]: Service mesh/echo-v3 does not exist (its share gets HTTP 500 until it does)' };
    expect(ok?.parents?.map((p) => [p.parentRef, p.conditions])).toEqual([
      ['Service mesh/echo:80', [{ type: 'Accepted', status: 'True', reason: 'Accepted' }, resolved]],
      ['Service mesh/echo:81', [{ type: 'Accepted', status: 'False', reason: 'NoMatchingParent', message: 'Service mesh/echo has no port 81' }, resolved]],
      ['Service mesh/nope', [{ type: 'Accepted', status: 'False', reason: 'NoMatchingParent', message: 'Service mesh/nope does not exist' }, resolved]],
    ]);
    sink.apply(svc('mesh', 'echo-v3', [{ port: 8080, name: 'http' }]));
    expect(store.policyStatuses().find((p) => p.kind === 'HTTPRoute')?.parents?.[0]?.conditions[1]).toEqual({ type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs' });
  });
});
