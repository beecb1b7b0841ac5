import { principalName, spiffeId } from '@trellis/plugin-sdk';
import { ExtensionTypeUrls, typedConfig } from '@trellis/plugin-sdk';
import type { Any, Filter, HttpFilter, Identity, InboundRoute, InboundTcpPolicy, RbacPermission, RbacPolicy, RbacPrincipal } from '@trellis/plugin-sdk';
import { ROUTE_RBAC_POLICY } from '../names.ts';
import { FilterNames, byString } from './common.ts';

/**
 * The principal names that identify one workload. Envoy matches `authenticated.principal_name` against the
 * peer certificate's URI SANs when it has any, else its DNS SANs, else the subject: workload certificates carry
 * the SPIFFE ID as URI SAN (so that one is what matches), and OSM-style certificates only the DNS form
 * `<sa>.<ns>.<trustDomain>`. Both forms name the same identity, so both are allowed.
 */
export function principalNames(id: Identity, trustDomain: string): string[] {
  return [spiffeId(id, trustDomain), principalName(id, trustDomain)];
}

function principalIds(ids: readonly Identity[], trustDomain: string): RbacPrincipal[] {
  const names = [...new Set(ids.flatMap((id) => principalNames(id, trustDomain)))].sort(byString);
  return names.map((name) => ({ authenticated: { principal_name: { exact: name } } }));
}

/** A policy's principals, or undefined when nobody is allowed (a policy needs at least one principal). */
function principalsOf(ids: readonly Identity[] | 'any', trustDomain: string): RbacPrincipal[] | undefined {
  if (ids === 'any') return [{ any: true }];
  if (ids.length === 0) return undefined;
  return [{ or_ids: { ids: principalIds(ids, trustDomain) } }];
}

/** OSM's network RBAC: ALLOW, one policy per TrafficTarget; no policy means nobody gets in. */
export function networkRbacFilter(policies: readonly InboundTcpPolicy[], trustDomain: string, statPrefix: string): Filter {
  const out: Record<string, RbacPolicy> = {};
  for (const p of [...policies].sort((a, b) => byString(a.name, b.name))) {
    const principals = principalsOf(p.principals, trustDomain);
    if (!principals) continue;
    const ports = p.ports === 'any' ? [] : [...new Set(p.ports)].sort((a, b) => a - b);
    if (p.ports !== 'any' && ports.length === 0) continue;
    const permissions: RbacPermission[] =
      p.ports === 'any'
        ? [{ any: true }]
        : ports.length === 1
          ? [{ destination_port: ports[0] }]
          : [{ or_rules: { rules: ports.map((port) => ({ destination_port: port })) } }];
    out[p.name] = { permissions, principals };
  }
  return {
    name: FilterNames.networkRbac,
    typed_config: typedConfig(ExtensionTypeUrls.networkRbac, { stat_prefix: statPrefix, rules: { action: 'ALLOW', policies: out } }),
  };
}

/** The per-route HTTP RBAC override: only the route's principals may use it. */
export function routeRbac(route: InboundRoute, trustDomain: string): Record<string, Any> {
  const principals = principalsOf(route.principals, trustDomain);
  const policies: Record<string, RbacPolicy> = principals ? { [ROUTE_RBAC_POLICY]: { permissions: [{ any: true }], principals } } : {};
  return {
    [FilterNames.httpRbac]: typedConfig(ExtensionTypeUrls.httpRbacPerRoute, { rbac: { rules: { action: 'ALLOW', policies } } }),
  };
}

/** The HCM's HTTP RBAC filter: allows everything itself; every inbound route overrides it (`routeRbac`). */
export const httpRbacFilter = (): HttpFilter => ({ name: FilterNames.httpRbac, typed_config: typedConfig(ExtensionTypeUrls.httpRbac) });
