/** The xDS transport: resource encoding, snapshot cache and the ADS server (SotW + delta, mTLS identity). */
export { createResourceFactory, contentVersion } from './resources/factory.ts';
export type { ResourceFactoryOptions } from './resources/factory.ts';
export { checkStrict } from './resources/strict.ts';
export type { MessageRule } from './resources/strict.ts';
export { xdsRoot, lookupMessage, messageType, typeNameOf } from './resources/protos.ts';
export { Snapshot, aggregateVersion, preciseNow } from './cache/snapshot.ts';
export { SnapshotCache, defaultNodeHash } from './cache/snapshot-cache.ts';
export type { NodeHash, SetSnapshotResult, SnapshotListener } from './cache/snapshot-cache.ts';
export { checkConsistency, edsNamesOf, rdsNamesOf } from './cache/consistency.ts';
export { XdsServer, DEFAULT_ADS_ADDRESS, DEFAULT_LISTEN_BACKLOG, SUGGESTED_PLAINTEXT_ADDRESS } from './server/xds-server.ts';
export type { BoundPorts, XdsServerLimits, XdsServerOptions } from './server/xds-server.ts';
export type { XdsHooks } from './server/hooks.ts';
export { namedResource } from './server/stand-ins.ts';
export type { StandIns } from './server/stand-ins.ts';
export { NodeRejectedError } from './server/rejection.ts';
export type { RejectionStatus } from './server/rejection.ts';
export type { StreamSource } from './server/stream-base.ts';
export { ProxyRegistry } from './server/registry.ts';
export type { ProxyInfo, TypeStatus } from './server/registry.ts';
export { redactResource } from './server/redact.ts';
export { TokenBucket, KeyedConcurrencyLimiter } from './server/limits.ts';
export { listenPaced, parseListenAddress, DEFAULT_ACCEPTS_PER_TURN } from './server/listener.ts';
export type { PacedListener, PacedListenOptions } from './server/listener.ts';
export { adsServiceDefinition } from './server/codec.ts';
export { identityFromCertificate, resolveNodeIdentity } from './server/identity.ts';
export type {
  DeltaDiscoveryRequest,
  DeltaDiscoveryResponse,
  DiscoveryRequest,
  DiscoveryResponse,
} from './server/codec.ts';
// Generated (scripts/gen-xds-types.mjs) input types of the main resources, for typed resource builders in the core.
export type { Listener as ListenerProto } from '@trellis/plugin-sdk/xds/generated/envoy/config/listener/v3/Listener.ts';
export type { RouteConfiguration as RouteConfigurationProto } from '@trellis/plugin-sdk/xds/generated/envoy/config/route/v3/RouteConfiguration.ts';
export type { Cluster as ClusterProto } from '@trellis/plugin-sdk/xds/generated/envoy/config/cluster/v3/Cluster.ts';
export type { ClusterLoadAssignment as ClusterLoadAssignmentProto } from '@trellis/plugin-sdk/xds/generated/envoy/config/endpoint/v3/ClusterLoadAssignment.ts';
export type { Secret as SecretProto } from '@trellis/plugin-sdk/xds/generated/envoy/extensions/transport_sockets/tls/v3/Secret.ts';
export type { HttpConnectionManager as HttpConnectionManagerProto } from '@trellis/plugin-sdk/xds/generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpConnectionManager.ts';
export { validateEnvoyResource, validateConfigDump, validateBootstrap, pgvRule, rulesOf } from './validate/index.ts';
export type { ConfigDumpOptions } from './validate/index.ts';
