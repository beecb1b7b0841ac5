import { describe, expect, it } from 'vitest';
import { explainPolicy } from '@trellis/core';
import type { KubeObject } from '@trellis/plugin-sdk';
import { objects } from '@trellis/plugin-sdk/testing';
import { GammaPipeline } from '../support/gamma-pipeline.ts';
import type { Outcome } from '../support/envoy-route-eval.ts';

/**
 * `policy explain` on HTTPRoutes agrees with the generated Envoy route tables: for every request of the
 * Gateway API Mesh matching scenarios (and method / regex / consumer-route cases), the rule explain names
 * sends the request to the backend the client sidecar's routes reach, and "no rule matches" is exactly the
 * requests Envoy answers 404. Envoy side evaluated as in mesh-http.test.ts (decoded, strictly validated config).
 */

const { GAMMA_NS: NS, GAMMA_CONSUMER_NS: CONSUMER, gammaConformanceMesh, gatewayRoute, serviceParent } = objects;
const ECHO_VIP = '10.96.0.10';
const be = (name: string, port = 8080) => ({ name, namespace: NS, port });
const prefix = (value: string) => ({ path: { type: 'PathPrefix', value } });
const q = (value: string) => [{ name: 'animal', value }];

type Case = readonly [path: string, headers: Record<string, string>, method?: string];

function envoyReached(o: Outcome): string {
  if (o.kind === 'route' && o.clusters.length === 1) return /\/([^/|]+)\|/.exec(o.clusters[0]?.name ?? '')?.[1] ?? '?';
  if (o.kind === 'direct') return String(o.status);
  return o.kind;
}

function expectAgreement(routes: KubeObject[], cases: readonly Case[], clientNs = NS): void {
  const p = new GammaPipeline([...gammaConformanceMesh(), ...routes]);
  const id = { namespace: clientNs, serviceAccount: 'client' };
  for (const [path, headers, method = 'GET'] of cases) {
    const envoy = envoyReached(p.send(id, { ip: ECHO_VIP, port: 80, host: clientNs === NS ? 'echo' : `echo.${NS}`, path, method, headers }));
    const ex = explainPolicy(p.catalog, p.store, { from: `sa:${clientNs}/client`, to: `svc:${NS}/echo`, port: 80, path, method, headers });
    const said = ex.route?.matched ? (ex.route.backends.map((b) => /\/([^:]+):/.exec(b.service)?.[1]).join(',') || 'no backend') : ex.route ? '404' : 'no route';
    expect(`${method} ${path} ${JSON.stringify(headers)}: explain ${said} (${ex.route?.name ?? ''} rule ${ex.route?.rule ?? '-'})`).toMatch(new RegExp(`: explain ${envoy} `));
    expect(ex.allowed).toBe(ex.route?.matched === true);
  }
}

describe('policy explain names the HTTPRoute rule Envoy applies', () => {
  it('MeshHTTPRouteMatching requests: whole-segment prefixes, headers, longest prefix', () => {
    expectAgreement(
      [
        gatewayRoute('HTTPRoute', NS, 'mesh-matching', {
          parentRefs: [serviceParent('echo', 80)],
          rules: [
            { matches: [prefix('/'), { headers: [{ name: 'version', value: 'one' }] }], backendRefs: [be('echo-v1')] },
            { matches: [prefix('/v2'), { headers: [{ name: 'version', value: 'two' }] }], backendRefs: [be('echo-v2')] },
          ],
        }),
      ],
      [['/', {}], ['/example', {}], ['/', { version: 'one' }], ['/v2', {}], ['/v2/', {}], ['/v2/example', {}], ['/', { version: 'two' }], ['/v2example', {}], ['/foo/v2/example', {}]],
    );
  });

  it('MeshHTTPRouteQueryParamMatching requests, including the 404s', () => {
    expectAgreement(
      [
        gatewayRoute('HTTPRoute', NS, 'mesh-query-param-matching', {
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
      ],
      [
        ['/?animal=whale', {}],
        ['/?animal=dolphin', {}],
        ['/?animal=whale&otherparam=irrelevant', {}],
        ['/?color=blue', {}],
        ['/?animal=whaledolphin', {}],
        ['/', {}],
        ['/path1?animal=whale', {}],
        ['/?animal=whale', { version: 'one' }],
        ['/path4?animal=kraken', { version: 'three' }],
        ['/path4?animal=kraken', {}],
        ['/path5?animal=hydra', {}],
      ],
    );
  });

  it('method, Exact and RegularExpression paths; a consumer route replaces the producer route for its namespace', () => {
    const routes = [
      gatewayRoute('HTTPRoute', NS, 'producer', {
        parentRefs: [serviceParent('echo', 80)],
        rules: [
          { matches: [{ path: { type: 'Exact', value: '/exact' } }], backendRefs: [be('echo-v1')] },
          { matches: [{ path: { type: 'RegularExpression', value: '/re/[0-9]+' } }], backendRefs: [be('echo-v2')] },
          { matches: [{ ...prefix('/m'), method: 'POST' }], backendRefs: [be('echo-v2')] },
          { matches: [prefix('/m')], backendRefs: [be('echo-v1')] },
        ],
      }),
      gatewayRoute('HTTPRoute', CONSUMER, 'consumer', { parentRefs: [serviceParent('echo', 80, NS)], rules: [{ matches: [prefix('/c')], backendRefs: [be('echo-v2', 80)] }] }),
    ];
    const cases: Case[] = [['/exact', {}], ['/exact/x', {}], ['/re/42', {}], ['/re/x', {}], ['/m', {}, 'POST'], ['/m/x', {}, 'GET'], ['/c', {}]];
    expectAgreement(routes, cases);
    expectAgreement(routes, cases, CONSUMER);
  });
});
