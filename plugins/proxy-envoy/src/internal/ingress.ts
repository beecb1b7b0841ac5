/**
 * IngressBackend on the backend's inbound listener, as OSM built it: one chain per backend port beside the mesh
 * chain, matched by target port and the sources' address ranges; plaintext for `http`, TLS terminated with the
 * workload's certificate for `https` (client certificate required unless `skipClientCertValidation`, SNI hosts
 * matched when given); an HCM on `rds-ingress.<targetPort>` whose wildcard route goes to the local cluster,
 * with HTTP RBAC on the allowed principals (any for http, where no identity can be verified).
 */
import { ExtensionTypeUrls, serviceFqdn, typedConfig } from '@trellis/plugin-sdk';
import type { FilterChain, InboundPort, IngressPolicy, RbacPrincipal, Route, RouteConfiguration, TransportSocket } from '@trellis/plugin-sdk';
import { ROUTE_RBAC_POLICY, rootCertInboundName, serviceCertName } from '../names.ts';
import { FilterNames, adsSource, byString, routerFilter, tlsParams } from './common.ts';
import { httpRbacFilter } from './rbac.ts';

export const rdsIngressName = (targetPort: number): string => `rds-ingress.${targetPort}`;
/** OSM's IngressTrafficMatchName. */
export const ingressChainName = (p: InboundPort, ingress: IngressPolicy): string =>
  `ingress_${p.service.namespace}/${p.service.name}_${p.service.targetPort}_${ingress.protocol}`;

const cidr = (range: string) => {
  const [address_prefix = '', len = '32'] = range.split('/');
  return { address_prefix, prefix_len: { value: Number(len) } };
};

function ingressTls(ingress: IngressPolicy): TransportSocket {
  const verify = !ingress.skipClientCertValidation;
  return {
    name: FilterNames.tlsSocket,
    typed_config: typedConfig(ExtensionTypeUrls.downstreamTls, {
      common_tls_context: {
        tls_params: tlsParams(),
        tls_certificate_sds_secret_configs: [{ name: serviceCertName, sds_config: adsSource() }],
        ...(verify && { validation_context_sds_secret_config: { name: rootCertInboundName, sds_config: adsSource() } }),
      },
      require_client_certificate: { value: verify },
    }),
  };
}

/** The ingress chains of the local ports that have an IngressBackend (one per target port and service). */
export function ingressChains(ports: readonly InboundPort[]): FilterChain[] {
  const chains: FilterChain[] = [];
  const seen = new Set<number>();
  for (const p of ports) {
    const ingress = p.ingress;
    // Envoy refuses two chains with the same match: the first service on a target port gets it.
    if (!ingress || seen.has(p.service.targetPort)) continue;
    seen.add(p.service.targetPort);
    const https = ingress.protocol === 'https';
    const rds = rdsIngressName(p.service.targetPort);
    chains.push({
      name: ingressChainName(p, ingress),
      filter_chain_match: {
        destination_port: { value: p.service.targetPort },
        ...(ingress.sourceRanges.length > 0 && { source_prefix_ranges: ingress.sourceRanges.map(cidr) }),
        transport_protocol: https ? 'tls' : 'raw_buffer',
        ...(https && ingress.sniHosts.length > 0 && { server_names: [...ingress.sniHosts] }),
      },
      filters: [
        {
          name: FilterNames.hcm,
          typed_config: typedConfig(ExtensionTypeUrls.httpConnectionManager, {
            stat_prefix: `ingress-http-conn-manager.${rds}`,
            rds: { config_source: adsSource(), route_config_name: rds },
            http_filters: [httpRbacFilter(), routerFilter()],
          }),
        },
      ],
      ...(https && { transport_socket: ingressTls(ingress) }),
    });
  }
  return chains;
}

/** `rds-ingress.<targetPort>`: every request to the local cluster, for the allowed principals. */
export function ingressRouteConfig(targetPort: number, port: InboundPort): RouteConfiguration {
  const ingress = port.ingress;
  const principals: RbacPrincipal[] =
    !ingress || ingress.principals === 'any'
      ? [{ any: true }]
      : [{ or_ids: { ids: [...ingress.principals].sort(byString).map((name) => ({ authenticated: { principal_name: { exact: name } } })) } }];
  const route: Route = {
    match: { prefix: '/' },
    route: { cluster: port.localClusterName, timeout: { seconds: 0 } },
    typed_per_filter_config: {
      [FilterNames.httpRbac]: typedConfig(ExtensionTypeUrls.httpRbacPerRoute, {
        rbac: { rules: { action: 'ALLOW', policies: { [ROUTE_RBAC_POLICY]: { permissions: [{ any: true }], principals } } } },
      }),
    },
  };
  return {
    name: rdsIngressName(targetPort),
    virtual_hosts: [{ name: `ingress_virtual-host|${serviceFqdn(port.service)}`, domains: ['*'], routes: [route] }],
    validate_clusters: { value: false },
  };
}
