/**
 * Curated input types of the xDS resources and the extension configs Trellis's backends embed, generated from
 * Envoy's protos (`./generated/`, written by `scripts/gen-xds-types.mjs` at install). Field names are the
 * proto names; values are protobufjs object forms (Duration `{ seconds, nanos }`, wrappers `{ value }`, enums
 * by name). `typedConfig()` builds a typed `google.protobuf.Any`.
 */
import type { ExtensionTypeUrl } from './resources.ts';
import type { Any } from './generated/google/protobuf/Any.ts';
import type { Duration } from './generated/google/protobuf/Duration.ts';
import type { Listener } from './generated/envoy/config/listener/v3/Listener.ts';
import type { RouteConfiguration } from './generated/envoy/config/route/v3/RouteConfiguration.ts';
import type { Cluster } from './generated/envoy/config/cluster/v3/Cluster.ts';
import type { ClusterLoadAssignment } from './generated/envoy/config/endpoint/v3/ClusterLoadAssignment.ts';
import type { Secret } from './generated/envoy/extensions/transport_sockets/tls/v3/Secret.ts';
import type { HttpConnectionManager } from './generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpConnectionManager.ts';
import type { TcpProxy } from './generated/envoy/extensions/filters/network/tcp_proxy/v3/TcpProxy.ts';
import type { RBAC as NetworkRbac } from './generated/envoy/extensions/filters/network/rbac/v3/RBAC.ts';
import type { RBAC as HttpRbac } from './generated/envoy/extensions/filters/http/rbac/v3/RBAC.ts';
import type { RBACPerRoute as HttpRbacPerRoute } from './generated/envoy/extensions/filters/http/rbac/v3/RBACPerRoute.ts';
import type { Router } from './generated/envoy/extensions/filters/http/router/v3/Router.ts';
import type { OriginalDst } from './generated/envoy/extensions/filters/listener/original_dst/v3/OriginalDst.ts';
import type { TlsInspector } from './generated/envoy/extensions/filters/listener/tls_inspector/v3/TlsInspector.ts';
import type { UpstreamTlsContext } from './generated/envoy/extensions/transport_sockets/tls/v3/UpstreamTlsContext.ts';
import type { DownstreamTlsContext } from './generated/envoy/extensions/transport_sockets/tls/v3/DownstreamTlsContext.ts';
import type { HttpProtocolOptions } from './generated/envoy/extensions/upstreams/http/v3/HttpProtocolOptions.ts';
import type { StdoutAccessLog } from './generated/envoy/extensions/access_loggers/stream/v3/StdoutAccessLog.ts';
import type { OpenTelemetryConfig } from './generated/envoy/config/trace/v3/OpenTelemetryConfig.ts';
import type { OpenTelemetryAccessLogConfig } from './generated/envoy/extensions/access_loggers/open_telemetry/v3/OpenTelemetryAccessLogConfig.ts';
import type { LocalRateLimit as NetworkLocalRateLimit } from './generated/envoy/extensions/filters/network/local_ratelimit/v3/LocalRateLimit.ts';
import type { LocalRateLimit as HttpLocalRateLimit } from './generated/envoy/extensions/filters/http/local_ratelimit/v3/LocalRateLimit.ts';
// Message types the resources above are built from.
import type { ConfigSource } from './generated/envoy/config/core/v3/ConfigSource.ts';
import type { TransportSocket } from './generated/envoy/config/core/v3/TransportSocket.ts';
import type { Address } from './generated/envoy/config/core/v3/Address.ts';
import type { FilterChain } from './generated/envoy/config/listener/v3/FilterChain.ts';
import type { Filter } from './generated/envoy/config/listener/v3/Filter.ts';
import type { ListenerFilter } from './generated/envoy/config/listener/v3/ListenerFilter.ts';
import type { HttpFilter } from './generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpFilter.ts';
import type { VirtualHost } from './generated/envoy/config/route/v3/VirtualHost.ts';
import type { Route } from './generated/envoy/config/route/v3/Route.ts';
import type { RouteMatch } from './generated/envoy/config/route/v3/RouteMatch.ts';
import type { RouteAction } from './generated/envoy/config/route/v3/RouteAction.ts';
import type { HeaderMatcher } from './generated/envoy/config/route/v3/HeaderMatcher.ts';
import type { WeightedCluster } from './generated/envoy/config/route/v3/WeightedCluster.ts';
import type { RetryPolicy as RouteRetryPolicy } from './generated/envoy/config/route/v3/RetryPolicy.ts';
import type { LbEndpoint } from './generated/envoy/config/endpoint/v3/LbEndpoint.ts';
import type { TlsParameters } from './generated/envoy/extensions/transport_sockets/tls/v3/TlsParameters.ts';
import type { CommonTlsContext } from './generated/envoy/extensions/transport_sockets/tls/v3/CommonTlsContext.ts';
import type { Policy as RbacPolicy } from './generated/envoy/config/rbac/v3/Policy.ts';
import type { Permission as RbacPermission } from './generated/envoy/config/rbac/v3/Permission.ts';
import type { Principal as RbacPrincipal } from './generated/envoy/config/rbac/v3/Principal.ts';

export type {
  Any,
  Duration,
  Listener,
  RouteConfiguration,
  Cluster,
  ClusterLoadAssignment,
  Secret,
  HttpConnectionManager,
  TcpProxy,
  NetworkRbac,
  HttpRbac,
  HttpRbacPerRoute,
  Router,
  OriginalDst,
  TlsInspector,
  UpstreamTlsContext,
  DownstreamTlsContext,
  HttpProtocolOptions,
  StdoutAccessLog,
  OpenTelemetryConfig,
  OpenTelemetryAccessLogConfig,
  NetworkLocalRateLimit,
  HttpLocalRateLimit,
  ConfigSource,
  TransportSocket,
  Address,
  FilterChain,
  Filter,
  ListenerFilter,
  HttpFilter,
  VirtualHost,
  Route,
  RouteMatch,
  RouteAction,
  HeaderMatcher,
  WeightedCluster,
  RouteRetryPolicy,
  LbEndpoint,
  TlsParameters,
  CommonTlsContext,
  RbacPolicy,
  RbacPermission,
  RbacPrincipal,
};

/** The input type of each resource type URL: what `XdsResourceFactory.create` takes. */
export interface ResourceTypes {
  'type.googleapis.com/envoy.config.listener.v3.Listener': Listener;
  'type.googleapis.com/envoy.config.route.v3.RouteConfiguration': RouteConfiguration;
  'type.googleapis.com/envoy.config.cluster.v3.Cluster': Cluster;
  'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment': ClusterLoadAssignment;
  'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret': Secret;
}

/** The input type of each extension config type URL: what `typedConfig` takes. */
export interface ExtensionTypes {
  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager': HttpConnectionManager;
  'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy': TcpProxy;
  'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC': NetworkRbac;
  'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC': HttpRbac;
  'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute': HttpRbacPerRoute;
  'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router': Router;
  'type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst': OriginalDst;
  'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector': TlsInspector;
  'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext': UpstreamTlsContext;
  'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext': DownstreamTlsContext;
  'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions': HttpProtocolOptions;
  'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog': StdoutAccessLog;
  'type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig': OpenTelemetryConfig;
  'type.googleapis.com/envoy.extensions.access_loggers.open_telemetry.v3.OpenTelemetryAccessLogConfig': OpenTelemetryAccessLogConfig;
  'type.googleapis.com/envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit': NetworkLocalRateLimit;
  'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit': HttpLocalRateLimit;
}

/** A typed `google.protobuf.Any`: `{ '@type': typeUrl, ...value }`, checked against the config's message type. */
export function typedConfig<U extends ExtensionTypeUrl>(typeUrl: U, value: ExtensionTypes[U] = {}): Any {
  return { '@type': typeUrl, ...value };
}

/** A Duration of `ms` milliseconds in object form. */
export function durationMs(ms: number): Duration {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}
