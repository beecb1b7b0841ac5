/**
 * Stand-ins for names a proxyless client dials but may not reach (`ProxyPlugin.standIn`): an api_listener
 * whose inline route sends every call to the `trellis-denied` cluster, whose one endpoint is the controller's
 * deny responder. The responder answers PERMISSION_DENIED with `policy explain`'s reason, so the call fails
 * at once instead of waiting out its deadline, and the client never learns the service's endpoints. The
 * answer is the same for every name (a Service or not), so it tells a client nothing DNS would not.
 */
import { ExtensionTypeUrls, TypeUrls, typedConfig } from '@trellis/plugin-sdk';
import type { Cluster, ClusterLoadAssignment, Listener, StandInContext, XdsResource } from '@trellis/plugin-sdk';
import type { Emit } from './memo.ts';
import { SERVER_LISTENER_TEMPLATE } from './names.ts';
import { upstreamTlsMatching } from './tls.ts';
import { routerFilter } from './types.ts';

/** The cluster (and its EDS resource) of the controller's deny responder. */
export const DENIED_CLUSTER = 'trellis-denied';

/** A server Listener a gRPC server asks for is never stood in for: it would bind to a route to nowhere. */
const SERVER_PREFIX = SERVER_LISTENER_TEMPLATE.slice(0, SERVER_LISTENER_TEMPLATE.indexOf('%s'));
/** What a target name may look like: host[:port] or [ipv6][:port], DNS-sized. Anything else does not exist. */
const DIALABLE_NAME = /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

export function denyStandIn(emit: Emit, typeUrl: string, name: string, ctx: StandInContext): XdsResource | undefined {
  const deny = ctx.denyResponder;
  if (!deny) return undefined;
  if (typeUrl === TypeUrls.listener) {
    if (name.startsWith(SERVER_PREFIX) || !DIALABLE_NAME.test(name)) return undefined;
    return emit('deny', TypeUrls.listener, name, () => deniedListener(name));
  }
  if (name !== DENIED_CLUSTER) return undefined;
  const key = JSON.stringify([deny.ip, deny.port, deny.serverName]);
  if (typeUrl === TypeUrls.cluster) return emit(key, TypeUrls.cluster, name, () => deniedCluster(deny.serverName));
  if (typeUrl === TypeUrls.endpoint) return emit(key, TypeUrls.endpoint, name, () => deniedEndpoint(deny.ip, deny.port));
  return undefined;
}

function deniedListener(name: string): Listener {
  return {
    name,
    api_listener: {
      api_listener: typedConfig(ExtensionTypeUrls.httpConnectionManager, {
        stat_prefix: DENIED_CLUSTER,
        // Inline: one round trip fewer than RDS before the call can fail.
        route_config: {
          name: DENIED_CLUSTER,
          virtual_hosts: [{ name: DENIED_CLUSTER, domains: ['*'], routes: [{ name: 'denied', match: { prefix: '' }, route: { cluster: DENIED_CLUSTER } }] }],
        },
        http_filters: [routerFilter],
      }),
    },
  };
}

/** mTLS with the workload certificate, so the responder learns the caller's identity from it (never a header). */
function deniedCluster(serverName: string): Cluster {
  return {
    name: DENIED_CLUSTER,
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } },
    lb_policy: 'ROUND_ROBIN',
    transport_socket: upstreamTlsMatching([serverName], serverName),
  };
}

function deniedEndpoint(ip: string, port: number): ClusterLoadAssignment {
  return {
    cluster_name: DENIED_CLUSTER,
    endpoints: [{ locality: {}, lb_endpoints: [{ endpoint: { address: { socket_address: { address: ip, port_value: port } } }, health_status: 'HEALTHY' }], load_balancing_weight: { value: 1 } }],
  };
}
