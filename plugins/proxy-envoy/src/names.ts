import { SecretNames, serviceFqdn } from '@trellis/plugin-sdk';
import type { MeshServicePort, ServiceName } from '@trellis/plugin-sdk';

/** OSM's names for the Envoy resources Trellis generates (kept so OSM users find what they know). */
export const ListenerNames = {
  outbound: 'outbound-listener',
  inbound: 'inbound-listener',
  prometheus: 'inbound-prometheus-listener',
} as const;

export const ClusterNames = {
  passthrough: 'passthrough-outbound',
  metrics: 'envoy-metrics-cluster',
  /** The static ADS cluster in the bootstrap. */
  controller: 'trellis-controller',
} as const;

export const Ports = {
  outbound: 15001,
  inbound: 15003,
  prometheus: 15010,
  admin: 15000,
} as const;

/** ALPN the sidecars speak to each other; OSM's value, so Trellis and OSM sidecars interoperate during a migration. */
export const MESH_ALPN = 'osm';

export const rdsOutboundName = (port: number): string => `rds-outbound.${port}`;
export const rdsInboundName = (targetPort: number): string => `rds-inbound.${targetPort}`;
/** The RouteConfiguration of one Service port's GAMMA routes (served on the chain of its cluster IPs). */
export const rdsGammaName = (svc: MeshServicePort): string => `rds-outbound-gamma.${svc.namespace}/${svc.name}.${svc.port}`;

// Secret names and the service FQDN (SNI, inbound server name) are the SDK's mesh naming rules. The proxy's own
// certificate and inbound roots have identity-free names, so clusters naming them are shared mesh-wide.
export const serviceCertName = SecretNames.ownCert;
export const rootCertInboundName = SecretNames.ownRoots;
export const rootCertOutboundName = SecretNames.rootCertOutbound;
export { serviceFqdn };

/** `http` / `tcp` as OSM puts them in filter chain names. */
export function isHttp(svc: MeshServicePort): boolean {
  return svc.protocol === 'http' || svc.protocol === 'http2' || svc.protocol === 'grpc';
}
export function isTcp(svc: MeshServicePort): boolean {
  return svc.protocol === 'tcp' || svc.protocol === 'tcp-server-first';
}

export const outboundChainName = (svc: MeshServicePort): string =>
  `outbound_${svc.namespace}/${svc.name}_${svc.port}_${svc.protocol}`;
export const gammaChainName = (svc: MeshServicePort): string => `outbound-gamma_${svc.namespace}/${svc.name}_${svc.port}_${svc.protocol}`;
export const inboundChainName = (svc: MeshServicePort): string =>
  `inbound_${svc.namespace}/${svc.name}_${svc.targetPort}_${svc.protocol}`;
export const outboundVirtualHostName = (svc: ServiceName): string => `outbound_virtual-host|${serviceFqdn(svc)}`;
export const inboundVirtualHostName = (svc: ServiceName): string => `inbound_virtual-host|${serviceFqdn(svc)}`;
export const EGRESS_CHAIN = 'outbound-egress-filter-chain';
export const ROUTE_RBAC_POLICY = 'rbac-for-route';
