/**
 * Server side of a proxyless node: one Listener per local endpoint `ip:port`, named by the bootstrap template.
 * grpc-js-xds needs its `address` to equal the bound address, exactly one filter chain (no destination port,
 * server name or transport matching), one HCM with an inline route whose action is `non_forwarding_action`,
 * and HTTP filters [rbac, router].
 */
import { ExtensionTypeUrls, TypeUrls, typedConfig } from '@trellis/plugin-sdk';
import type { InboundPort, Listener, MeshEndpoint, ProxyView, XdsResource } from '@trellis/plugin-sdk';
import type { Emit } from './memo.ts';
import { hostPort, serverListenerName } from './names.ts';
import { rbacFilter } from './rbac.ts';
import { downstreamTls } from './tls.ts';
import { routerFilter } from './types.ts';

export function serverResources(view: ProxyView, emit: Emit): XdsResource[] {
  const out: XdsResource[] = [];
  const seen = new Set<string>();
  for (const e of view.localEndpoints) {
    const name = serverListenerName(e.ip, e.port);
    if (seen.has(name)) continue;
    seen.add(name);
    const ports = view.inbound.filter((p) => p.service.targetPort === e.port);
    const key = JSON.stringify([e.ip, e.port, view.permissive, view.trustDomain, ports]);
    out.push(emit(key, TypeUrls.listener, name, () => serverListener(name, e, ports, view)));
  }
  return out;
}

function serverListener(name: string, e: MeshEndpoint, ports: readonly InboundPort[], view: ProxyView): Listener {
  const statPrefix = `inbound_${hostPort(e.ip, e.port)}`;
  return {
    name,
    address: { socket_address: { address: e.ip, port_value: e.port } },
    filter_chains: [
      {
        name: statPrefix,
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: typedConfig(ExtensionTypeUrls.httpConnectionManager, {
              stat_prefix: statPrefix,
              route_config: {
                name: `inbound|${hostPort(e.ip, e.port)}`,
                virtual_hosts: [{ name: 'inbound', domains: ['*'], routes: [{ match: { prefix: '' }, non_forwarding_action: {} }] }],
              },
              http_filters: [rbacFilter(ports, e.port, view.permissive, view.trustDomain), routerFilter],
            }),
          },
        ],
        transport_socket: downstreamTls(),
      },
    ],
  };
}
