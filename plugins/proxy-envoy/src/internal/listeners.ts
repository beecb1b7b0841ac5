import { ExtensionTypeUrls, typedConfig } from '@trellis/plugin-sdk';
import type { EgressRule, Filter, FilterChain, HttpFilter, Identity, InboundPort, Listener, OutboundService, TcpProxy, TransportSocket } from '@trellis/plugin-sdk';
import {
  ClusterNames,
  EGRESS_CHAIN,
  ListenerNames,
  gammaChainName,
  rdsGammaName,
  MESH_ALPN,
  Ports,
  inboundChainName,
  isHttp,
  outboundChainName,
  rdsInboundName,
  rdsOutboundName,
  rootCertInboundName,
  serviceCertName,
  serviceFqdn,
} from '../names.ts';
import { FilterNames, adsSource, byString, isIpv6, routerFilter, socketAddress, tlsParams } from './common.ts';
import { egressChains, needsTlsInspector } from './egress.ts';
import { ingressChains } from './ingress.ts';
import { httpRbacFilter, networkRbacFilter } from './rbac.ts';
import { httpRateLimitFilter, limitsRequests, tcpRateLimitFilter } from './ratelimit.ts';

function hcm(statPrefix: string, rds: string, filters: HttpFilter[]): Filter {
  return {
    name: FilterNames.hcm,
    typed_config: typedConfig(ExtensionTypeUrls.httpConnectionManager, {
      stat_prefix: statPrefix,
      rds: { config_source: adsSource(), route_config_name: rds },
      http_filters: [...filters, routerFilter()],
    }),
  };
}

type TcpTarget = Pick<TcpProxy, 'cluster' | 'weighted_clusters'>;

function tcpProxy(statPrefix: string, target: TcpTarget): Filter {
  return { name: FilterNames.tcpProxy, typed_config: typedConfig(ExtensionTypeUrls.tcpProxy, { stat_prefix: statPrefix, ...target }) };
}

/** Weighted tcp_proxy for a split (backends sorted by cluster), else the service's own cluster. */
function tcpTarget(svc: OutboundService): TcpTarget {
  const backends = (svc.split?.backends ?? []).filter((b) => Math.floor(b.weight) > 0);
  if (backends.length === 0) return { cluster: svc.clusterName };
  const merged = new Map<string, number>();
  for (const b of backends) merged.set(b.clusterName, (merged.get(b.clusterName) ?? 0) + Math.floor(b.weight));
  const clusters = [...merged].sort(([a], [b]) => byString(a, b)).map(([name, weight]) => ({ name, weight }));
  return { weighted_clusters: { clusters } };
}

const prefixRange = (ip: string) => ({ address_prefix: ip, prefix_len: { value: isIpv6(ip) ? 128 : 32 } });

/**
 * `outbound-listener` (15001): one chain per upstream service port, matched by the original destination port
 * and the service's addresses (/32): its virtual IPs (`serviceIPs`) and its endpoint IPs. An address already claimed on a port by an earlier chain is left
 * out of later ones, because Envoy rejects two chains with the same match; split (apex) services claim first so
 * a TCP split applies, then the rest by cluster name. (HTTP chains of one port share `rds-outbound.<port>`, so
 * for HTTP it does not matter which chain holds an address.)
 * HTTP chains route via `rds-outbound.<port>`; TCP chains tcp_proxy (weighted when split). With egress on,
 * everything else passes through to its original destination.
 */
export function outboundListener(outbound: readonly OutboundService[], egress: boolean, egressRules: readonly EgressRule[] = []): Listener | undefined {
  const claimed = new Map<number, Set<string>>();
  const chains: FilterChain[] = [];
  const ordered = [...outbound].sort((a, b) => Number(!a.gamma) - Number(!b.gamma) || Number(!a.split) - Number(!b.split) || byString(a.clusterName, b.clusterName));
  for (const svc of ordered) {
    const { service } = svc;
    if (!isHttp(service) && service.protocol !== 'tcp' && service.protocol !== 'tcp-server-first') continue;
    const taken = claimed.get(service.port) ?? new Set<string>();
    claimed.set(service.port, taken);
    // GAMMA routes bind to the Service's cluster IPs (claimed first); its pod IPs keep the plain chain below.
    const gammaChain = isHttp(service) && svc.gamma ? gammaOutboundChain(svc, taken) : undefined;
    if (gammaChain) chains.push(gammaChain);
    // The Service's virtual IPs (what clients dial) and its endpoints (for direct pod connections).
    const ips = [...new Set([...(gammaChain ? [] : (svc.serviceIPs ?? [])), ...svc.endpoints.map((e) => e.ip)])].filter((ip) => !taken.has(ip)).sort(byString);
    if (ips.length === 0) continue;
    for (const ip of ips) taken.add(ip);
    const filter = isHttp(service)
      ? hcm(`mesh-http-conn-manager.${rdsOutboundName(service.port)}`, rdsOutboundName(service.port), [])
      : tcpProxy(`outbound-mesh-tcp-proxy.${service.namespace}/${service.name}_${service.port}`, tcpTarget(svc));
    chains.push({
      name: outboundChainName(service),
      filter_chain_match: { destination_port: { value: service.port }, prefix_ranges: ips.map(prefixRange) },
      filters: [filter],
    });
  }
  chains.push(...egressChains(egressRules));
  if (chains.length === 0 && !egress) return undefined;
  const listener: Listener = {
    name: ListenerNames.outbound,
    address: socketAddress('0.0.0.0', Ports.outbound),
    traffic_direction: 'OUTBOUND',
    listener_filters: [
      { name: FilterNames.originalDst, typed_config: typedConfig(ExtensionTypeUrls.originalDst) },
      ...(needsTlsInspector(egressRules) ? [{ name: FilterNames.tlsInspector, typed_config: typedConfig(ExtensionTypeUrls.tlsInspector) }] : []),
    ],
    filter_chains: chains,
  };
  if (egress) {
    listener.default_filter_chain = {
      name: EGRESS_CHAIN,
      filters: [tcpProxy(ClusterNames.passthrough, { cluster: ClusterNames.passthrough })],
    };
  }
  return listener;
}

/** The chain of a Service port with GAMMA routes: its cluster IPs, to that port's own route configuration. */
function gammaOutboundChain(svc: OutboundService, taken: Set<string>): FilterChain | undefined {
  const ips = [...new Set(svc.serviceIPs ?? [])].filter((ip) => !taken.has(ip)).sort(byString);
  if (ips.length === 0) return undefined;
  for (const ip of ips) taken.add(ip);
  return {
    name: gammaChainName(svc.service),
    filter_chain_match: { destination_port: { value: svc.service.port }, prefix_ranges: ips.map(prefixRange) },
    filters: [hcm(`mesh-http-conn-manager.${rdsGammaName(svc.service)}`, rdsGammaName(svc.service), [])],
  };
}

function downstreamTls(): TransportSocket {
  return {
    name: FilterNames.tlsSocket,
    typed_config: typedConfig(ExtensionTypeUrls.downstreamTls, {
      common_tls_context: {
        tls_params: tlsParams(),
        alpn_protocols: [MESH_ALPN],
        tls_certificate_sds_secret_configs: [{ name: serviceCertName, sds_config: adsSource() }],
        validation_context_sds_secret_config: { name: rootCertInboundName, sds_config: adsSource() },
      },
      require_client_certificate: { value: true },
    }),
  };
}

export interface InboundListenerInput {
  readonly identity: Identity;
  readonly trustDomain: string;
  readonly permissive: boolean;
  readonly inbound: readonly InboundPort[];
}

/**
 * `inbound-listener` (15003): per local service port a chain matching target port, SNI = service FQDN, TLS with
 * ALPN `osm`; mTLS required; network RBAC from the TrafficTargets unless permissive; then HCM
 * (`rds-inbound.<targetPort>`) or tcp_proxy to the local cluster. A service listed twice with the same
 * target port gets one chain (the first port's protocol decides).
 */
export function inboundListener(input: InboundListenerInput): Listener | undefined {
  const chains: FilterChain[] = [];
  const seen = new Set<string>();
  const ports = [...input.inbound].sort(
    (a, b) => a.service.targetPort - b.service.targetPort || byString(a.localClusterName, b.localClusterName) || a.service.port - b.service.port,
  );
  for (const port of ports) {
    const { service } = port;
    const key = `${service.targetPort}|${serviceFqdn(service)}`;
    if (seen.has(key) || service.protocol === 'udp') continue;
    seen.add(key);
    const filters: Filter[] = [];
    if (!input.permissive) {
      const policies = ports
        .filter((p) => p.service.targetPort === service.targetPort && serviceFqdn(p.service) === serviceFqdn(service))
        .flatMap((p) => p.tcpPolicies);
      const unique = [...new Map(policies.map((p) => [JSON.stringify(p), p])).values()];
      filters.push(networkRbacFilter(unique, input.trustDomain, `inbound-network-rbac.${service.namespace}/${service.name}_${service.targetPort}`));
    }
    filters.push(...tcpRateLimitFilter(port, inboundChainName(service)));
    const hcmStat = `mesh-http-conn-manager.${rdsInboundName(service.targetPort)}`;
    const limited = limitsRequests(ports.filter((p) => p.service.targetPort === service.targetPort));
    filters.push(
      isHttp(service)
        ? hcm(hcmStat, rdsInboundName(service.targetPort), [httpRbacFilter(), ...(limited ? [httpRateLimitFilter(hcmStat)] : [])])
        : tcpProxy(`inbound-mesh-tcp-proxy.${port.localClusterName}`, { cluster: port.localClusterName }),
    );
    chains.push({
      name: inboundChainName(service),
      filter_chain_match: {
        destination_port: { value: service.targetPort },
        server_names: [serviceFqdn(service)],
        transport_protocol: 'tls',
        application_protocols: [MESH_ALPN],
      },
      filters,
      transport_socket: downstreamTls(),
    });
  }
  chains.push(...ingressChains(ports));
  if (chains.length === 0) return undefined;
  return {
    name: ListenerNames.inbound,
    address: socketAddress('0.0.0.0', Ports.inbound),
    traffic_direction: 'INBOUND',
    listener_filters: [
      { name: FilterNames.tlsInspector, typed_config: typedConfig(ExtensionTypeUrls.tlsInspector) },
      { name: FilterNames.originalDst, typed_config: typedConfig(ExtensionTypeUrls.originalDst) },
    ],
    filter_chains: chains,
  };
}

/** `inbound-prometheus-listener` (15010): `/stats/prometheus` to Envoy's admin via `envoy-metrics-cluster`. */
export function prometheusListener(): Listener {
  return {
    name: ListenerNames.prometheus,
    address: socketAddress('0.0.0.0', Ports.prometheus),
    traffic_direction: 'INBOUND',
    filter_chains: [
      {
        filters: [
          {
            name: FilterNames.hcm,
            typed_config: typedConfig(ExtensionTypeUrls.httpConnectionManager, {
              stat_prefix: 'prometheus-http-conn-manager',
              route_config: {
                name: 'prometheus-route',
                virtual_hosts: [
                  {
                    name: 'prometheus-inbound-virtual-host',
                    domains: ['*'],
                    routes: [
                      {
                        match: { prefix: '/stats/prometheus' },
                        route: { cluster: ClusterNames.metrics, prefix_rewrite: '/stats/prometheus' },
                      },
                    ],
                  },
                ],
              },
              http_filters: [routerFilter()],
            }),
          },
        ],
      },
    ],
  };
}
