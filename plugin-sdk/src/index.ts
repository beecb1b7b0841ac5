/**
 * @trellis/plugin-sdk — everything a plugin may import. Plain functions and typed tokens; the core's DI
 * container stays behind them.
 */
export { definePlugin, isPluginDefinition, KIND_EXTENSION_POINTS, PLUGIN_KINDS } from './plugin.ts';
export type {
  AnyPluginDefinition,
  ConfigCheckContext,
  ConfigCheckIssue,
  CreateContext,
  KindCapabilities,
  KindSpec,
  PluginSpecBase,
  PluginDefinition,
  PluginInstances,
  PluginKind,
  PluginSpec,
  ResolvedDeps,
  Stability,
} from './plugin.ts';
export { s, formatDuration, formatPath, parseDuration, summarize } from './schema.ts';
export type { Infer, InferShape, JsonSchema, ObjectSchema, ParseContext, ParseResult, Schema, SchemaIssue } from './schema.ts';
export { ErrorCodes, TrellisError, isTrellisError } from './errors.ts';
export type { ErrorCode } from './errors.ts';
export { coreServices, createServiceRef } from './services.ts';
export { createExtensionPoint, extensionPoints } from './extensions.ts';
export type { AdminResponse, AdminRoute, CliCommand, CommandIo, DebugPage, ExtensionPoint, PolicyKind, PolicyObjects, PolicyVerdict } from './extensions.ts';
export type { MeshSettings, Readiness, ServiceRef } from './services.ts';
export { defineTopic } from './bus.ts';
export type { EventBus, Handler, Topic } from './bus.ts';
export type { LogFields, Logger } from './logger.ts';
export type { Counter, CurrentValue, Gauge, Histogram, HistogramSeries, Labels, MetricFamily, MetricSpec, Metrics } from './metrics.ts';
export { ChangeAttributes, ChangeSpans } from './tracing.ts';
export type { SpanAttributes, TraceSpan, Tracer } from './tracing.ts';
export { SecretValue } from './secret.ts';
export { TypeUrls, ExtensionTypeUrls } from './xds/resources.ts';
export type { CreateOptions, ExtensionTypeUrl, TypeUrl, XdsResource, XdsResourceFactory } from './xds/resources.ts';
export { typedConfig, durationMs } from './xds/types.ts';
export { ByteLru, xdsResourceBytes } from './toolkit/lru.ts';
export type { ByteLruOptions } from './toolkit/lru.ts';
export { createDebouncer } from './toolkit/debounce.ts';
export type { DebounceOptions, Debouncer } from './toolkit/debounce.ts';
export { backoffDelay } from './toolkit/backoff.ts';
export type { BackoffOptions } from './toolkit/backoff.ts';
export { mapConcurrent } from './toolkit/concurrency.ts';
export { CLUSTER_DOMAIN, SecretNames, localClusterName, outboundClusterName, serviceFqdn, serviceHostnames, serviceSni } from './xds/names.ts';
// The curated Envoy input types (Listener, Cluster, HttpConnectionManager, RBAC, ...): the list lives in xds/types.ts.
export type * from './xds/types.ts';
export type { Lifecycle } from './kinds/lifecycle.ts';
export type { SourcePlugin, SourceSink } from './kinds/source.ts';
export type { ProxyPlugin, GenerateContext, BootstrapRequest, BootstrapFile, DenyResponderAddress, StandInContext } from './kinds/proxy.ts';
export { CONTROLLER_SERVER_NAME, WORKLOAD_CERT_FILES, workloadCertFiles } from './kinds/proxy.ts';
export { KEY_TYPES } from './kinds/certificates.ts';
export type { CertificatesPlugin, CertificateRequest, IssuedCertificate, KeyType, SignedCertificate, SignRequest, TrustBundle } from './kinds/certificates.ts';
export type { ObservabilityPlugin } from './kinds/observability.ts';
export { clusterServices } from './kinds/cluster.ts';
export type { BootstrapSecret, BootstrapSecretWriter, CaBundleSink, TokenReviewer, TokenReviewResult } from './kinds/cluster.ts';
export { apiGroup, keyOf, objectKeyString } from './mesh/objects.ts';
export type { KubeObject, ObjectKey, ObjectMeta, ObjectOrigin, SourceError } from './mesh/objects.ts';
export { identityKey, parseIdentityKey, principalName, spiffeId, formatNodeId, parseNodeId } from './mesh/identity.ts';
export type { Identity, NodeIdentity, ProxyKind } from './mesh/identity.ts';
export type * from './mesh/views.ts';
export type { RouteConditionView, RouteParentRefView, RouteParentStatusView, RouteStatusService, RouteStatusView } from './mesh/route-status.ts';
export { GRPC_RETRY_CONDITIONS, grpcRetryConditions } from './mesh/retry.ts';
