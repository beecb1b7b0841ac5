import { ExtensionTypeUrls, serviceSni, typedConfig } from '@trellis/plugin-sdk';
import type { Cluster, ClusterLoadAssignment, InboundPort, OutboundService } from '@trellis/plugin-sdk';
import { ClusterNames, MESH_ALPN, Ports, isHttp, rootCertOutboundName, serviceCertName } from '../names.ts';
import { withUpstreamSettings } from './upstream.ts';
import { FilterNames, adsSource, byString, downstreamProtocolOptions, singleHostAssignment, tlsParams } from './common.ts';

const ONE_SECOND = { seconds: 1 };

/**
 * An upstream service's cluster: EDS over ADS, mTLS with the proxy's own certificate (`service-cert`, which
 * every proxy resolves to its own identity's) and a validation context that pins the identities behind the
 * service. Depends on the service alone, so one encoded cluster serves every proxy of the mesh.
 */
export function outboundCluster(svc: OutboundService): Cluster {
  const cluster: Cluster = {
    name: svc.clusterName,
    type: 'EDS',
    eds_cluster_config: { eds_config: adsSource() },
    connect_timeout: ONE_SECOND,
    lb_policy: 'ROUND_ROBIN',
    transport_socket: {
      name: FilterNames.tlsSocket,
      typed_config: typedConfig(ExtensionTypeUrls.upstreamTls, {
        common_tls_context: {
          tls_params: tlsParams(),
          alpn_protocols: [MESH_ALPN],
          tls_certificate_sds_secret_configs: [{ name: serviceCertName, sds_config: adsSource() }],
          validation_context_sds_secret_config: { name: rootCertOutboundName(svc.service), sds_config: adsSource() },
        },
        sni: serviceSni(svc.service),
      }),
    },
  };
  if (isHttp(svc.service)) cluster.typed_extension_protocol_options = downstreamProtocolOptions();
  return svc.upstream ? withUpstreamSettings(cluster, svc.upstream) : cluster;
}

/** The service's endpoints; ready ones only (Envoy has no use for the others), sorted by address. */
export function outboundEndpoints(svc: OutboundService): ClusterLoadAssignment {
  const seen = new Set<string>();
  const hosts = svc.endpoints
    .filter((e) => e.ready)
    .map((e) => ({ ip: e.ip, port: e.port, key: `${e.ip}|${e.port}` }))
    .filter((e) => (seen.has(e.key) ? false : (seen.add(e.key), true)))
    .sort((a, b) => byString(a.ip, b.ip) || a.port - b.port);
  return {
    cluster_name: svc.clusterName,
    endpoints:
      hosts.length === 0
        ? []
        : [{ lb_endpoints: hosts.map((h) => ({ endpoint: { address: { socket_address: { address: h.ip, port_value: h.port } } } })) }],
  };
}

/** `ns/svc|targetPort|local`: the app itself behind the sidecar. */
export function localCluster(port: InboundPort): Cluster {
  const cluster: Cluster = {
    name: port.localClusterName,
    type: 'STATIC',
    connect_timeout: ONE_SECOND,
    load_assignment: singleHostAssignment(port.localClusterName, '127.0.0.1', port.service.targetPort),
  };
  if (isHttp(port.service)) cluster.typed_extension_protocol_options = downstreamProtocolOptions();
  return cluster;
}

/** Egress passthrough: to wherever the app was connecting (the original destination). */
export const passthroughCluster = (): Cluster => ({
  name: ClusterNames.passthrough,
  type: 'ORIGINAL_DST',
  lb_policy: 'CLUSTER_PROVIDED',
  connect_timeout: ONE_SECOND,
});

/** Envoy's own admin endpoint, for the Prometheus listener. */
export const metricsCluster = (): Cluster => ({
  name: ClusterNames.metrics,
  type: 'STATIC',
  connect_timeout: ONE_SECOND,
  load_assignment: singleHostAssignment(ClusterNames.metrics, '127.0.0.1', Ports.admin),
});
