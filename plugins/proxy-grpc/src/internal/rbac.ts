/**
 * Server-side HTTP RBAC from the catalog's inbound policy. A gRPC method `/package.Service/Method` is the HTTP
 * path; every gRPC call is a POST. Principals are SPIFFE IDs: grpc-js matches `principal_name` against the
 * peer's URI SANs whenever it has any, and workload certificates carry the SPIFFE ID as URI SAN.
 */
import { ExtensionTypeUrls, spiffeId, typedConfig } from '@trellis/plugin-sdk';
import type { HttpFilter, HttpMatch, Identity, InboundPort, InboundTcpPolicy, RbacPermission, RbacPolicy, RbacPrincipal } from '@trellis/plugin-sdk';
import { headerName, wholeRegex } from './client.ts';

const isHttpLike = (p: InboundPort): boolean => p.service.protocol === 'http' || p.service.protocol === 'http2' || p.service.protocol === 'grpc';

/**
 * The RBAC filter for one bound port: ALLOW with one policy per (service port, route) or TCP policy; no
 * policy means deny everything (SMI's default). Permissive: any authenticated (mTLS) peer.
 */
export function rbacFilter(ports: readonly InboundPort[], boundPort: number, permissive: boolean, trustDomain: string): HttpFilter {
  const policies: Record<string, RbacPolicy> = {};
  if (permissive) {
    policies['permissive'] = { permissions: [{ any: true }], principals: [{ authenticated: {} }] };
  } else {
    for (const p of ports) {
      const svc = `${p.service.namespace}/${p.service.name}|${p.service.port}`;
      if (isHttpLike(p)) {
        p.routes.forEach((r, i) => {
          policies[`${svc}|route-${i}:${r.match.name}`] = { permissions: [permission(r.match)], principals: principals(r.principals, trustDomain) };
        });
      } else {
        for (const t of p.tcpPolicies) if (allowsPort(t, boundPort)) policies[`${svc}|tcp:${t.name}`] = { permissions: [{ any: true }], principals: principals(t.principals, trustDomain) };
      }
    }
  }
  const sorted = Object.fromEntries(Object.entries(policies).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { name: 'envoy.filters.http.rbac', typed_config: typedConfig(ExtensionTypeUrls.httpRbac, { rules: { action: 'ALLOW', policies: sorted } }) };
}

function allowsPort(t: InboundTcpPolicy, port: number): boolean {
  return t.ports === 'any' || t.ports.includes(port);
}

function principals(ids: readonly Identity[] | 'any', trustDomain: string): RbacPrincipal[] {
  if (ids === 'any') return [{ authenticated: {} }];
  // An empty list would be invalid (PGV min_items 1) and must allow nobody: not_id(any) matches no one.
  if (ids.length === 0) return [{ not_id: { any: true } }];
  return ids.map((id) => ({ authenticated: { principal_name: { exact: spiffeId(id, trustDomain) } } }));
}

/** Path (whole-match RE2), methods, and headers of one SMI match, ANDed. */
export function permission(m: HttpMatch): RbacPermission {
  const rules: RbacPermission[] = [];
  if (m.pathRegex !== '.*') rules.push({ url_path: { path: { safe_regex: { regex: wholeRegex(m.pathRegex) } } } });
  if (!m.methods.includes('*')) {
    // The older `exact_match` / `safe_regex_match`: gRPC C-core 1.51 NACKs `string_match` header matchers, and a
    // NACKed server Listener keeps its previous (possibly more permissive) policy.
    const methods = m.methods.map((x) => ({ header: { name: ':method', exact_match: x } }));
    rules.push(methods.length === 1 ? (methods[0] as RbacPermission) : { or_rules: { rules: methods } });
  }
  for (const h of m.headers) rules.push({ header: { name: headerName(h.name), safe_regex_match: { regex: wholeRegex(h.valueRegex) } } });
  if (rules.length === 0) return { any: true };
  return rules.length === 1 ? (rules[0] as RbacPermission) : { and_rules: { rules } };
}
