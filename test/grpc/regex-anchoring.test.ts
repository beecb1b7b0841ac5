import { beforeAll, describe, expect, it } from 'vitest';
import { TypeUrls } from '@trellis/plugin-sdk';
import type { HttpMatch, InboundPort, MeshServicePort, OutboundService, ProxyView, XdsResource } from '@trellis/plugin-sdk';
import { xds } from '@trellis/core';
import { createGrpcGenerator, serverListenerName } from '@trellis/plugin-proxy-grpc';
import { loadGrpcXds } from '../support/grpc-workloads.ts';

/**
 * grpc-js-xds compiles a `safe_regex` as `^<regex>$` without a group, so `/a|/b` would mean "starts with /a or
 * ends with /b" (and `/a/anything` would pass RBAC). The generator groups every pattern; checked here with
 * grpc-js-xds's own matcher, on the route matches and the RBAC permissions it is given.
 */

type Matcher = { apply(value: string): boolean };
let SafeRegex: new (regex: string) => Matcher;
beforeAll(async () => {
  await loadGrpcXds();
  const m = (await import('@grpc/grpc-js-xds/build/src/matcher.js')) as { SafeRegexValueMatcher: new (regex: string) => Matcher };
  SafeRegex = m.SafeRegexValueMatcher;
});

const svc = (name: string, port: number): MeshServicePort => ({ namespace: 'ns', name, port, targetPort: port, protocol: 'grpc' });
const match: HttpMatch = { name: 'ab', pathRegex: '/a|/b', methods: ['*'], headers: [{ name: 'x-id', valueRegex: '1|2' }] };
const API = svc('api', 9000);
const view: ProxyView = {
  identity: { namespace: 'ns', serviceAccount: 'api' },
  trustDomain: 'cluster.local',
  permissive: false,
  egress: false,
  outbound: [
    {
      service: API,
      clusterName: 'ns/api|9000',
      hostnames: ['api.ns:9000'],
      endpoints: [{ ip: '10.0.0.1', port: 9000, ready: true }],
      identities: [],
      split: { splitName: 'ns/s', backends: [{ service: API, weight: 1, clusterName: 'ns/api|9000' }], matches: [match] },
    } satisfies OutboundService,
  ],
  inbound: [{ service: API, localClusterName: 'ns/api|9000|local', hostnames: [], routes: [{ match, principals: 'any' }], tcpPolicies: [] } satisfies InboundPort],
  localEndpoints: [{ ip: '10.0.0.1', port: 9000, ready: true }],
};

/** Every `safe_regex.regex` and `safe_regex_match.regex` (header matchers, the form gRPC C-core reads) under `v`. */
function regexes(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) for (const x of v) regexes(x, out);
  else if (typeof v === 'object' && v !== null)
    for (const [k, x] of Object.entries(v)) {
      if ((k === 'safe_regex' || k === 'safe_regex_match') && typeof (x as { regex?: unknown }).regex === 'string') out.push((x as { regex: string }).regex);
      else regexes(x, out);
    }
  return out;
}

describe('gRPC regex anchoring', () => {
  it('matches `/a|/b` and `1|2` as whole values in grpc-js-xds, on routes and in RBAC', () => {
    const rs: XdsResource[] = createGrpcGenerator()(view, { resources: xds.createResourceFactory({ strict: true }) });
    const route = rs.find((r) => r.typeUrl === TypeUrls.route)!;
    const server = rs.find((r) => r.typeUrl === TypeUrls.listener && r.name === serverListenerName('10.0.0.1', 9000))!;
    for (const [where, res] of [['route', route], ['server RBAC', server]] as const) {
      const found = regexes(res.value);
      expect(found.length, where).toBeGreaterThanOrEqual(2);
      for (const re of found) {
        const m = new SafeRegex(re);
        const [whole, prefixed, suffixed] = re.includes('/a') ? ['/b', '/a/anything', 'x/b'] : ['2', '1x', 'x2'];
        expect(m.apply(whole), `${where} ${re} ~ ${whole}`).toBe(true);
        expect(m.apply(prefixed), `${where} ${re} ~ ${prefixed}`).toBe(false);
        expect(m.apply(suffixed), `${where} ${re} ~ ${suffixed}`).toBe(false);
      }
    }
  });
});
