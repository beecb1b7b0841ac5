/**
 * @trellis/core — the control plane. Embedders and tests use these; plugins never import the core.
 */
export { startMesh, planMesh, GraphError } from './kernel/mesh.ts';
export type { Mesh, PluginInfo, StartMeshOptions, CoreParts, CorePartsFactory, CorePartsContext, CoreComponent, CoreComponentDecl } from './kernel/mesh.ts';
export { planGraph, pluginNode } from './kernel/graph.ts';
export type { GraphNode, GraphPlan, GraphProblem } from './kernel/graph.ts';
export { ServiceContainer } from './kernel/container.ts';
export type { Contribution } from './kernel/container.ts';
export type { Component, ComponentStatus } from './kernel/lifecycle.ts';
export { createLogger, silentLogger } from './kernel/logger.ts';
export { loadConfig, parseConfig, ConfigError, ConfigWarningCodes } from './config/load.ts';
export type { ConfigProblem, ConfigWarning, ConfiguredPlugin, LoadedConfig } from './config/load.ts';
export { effectiveConfig } from './config/redact.ts';
export { builtinPlugins, chosenPlugins, configJsonSchema } from './config/json-schema.ts';
export type { PluginSchemaEntry } from './config/json-schema.ts';
export { renderConfigReference, updateConfigDoc } from './config/docs.ts';
export { defaultParts, controllerRef, CONTROLLER_SERVER_NAMES } from './controller/parts.ts';
export type { ControllerHandle } from './controller/parts.ts';
export { MeshController } from './controller/controller.ts';
export { DenyResponder, encodeGrpcMessage, MAX_REASON } from './controller/deny-responder.ts';
export type { DenyCaller, DenyResponderOptions } from './controller/deny-responder.ts';
export { KNOWN_KINDS, MeshStore, NAMESPACED, meshChanged, validateObject } from './store/index.ts';
export type { IgnoredObject, MeshConfigSettings, MeshKind, PolicyStatus, StoreChange } from './store/index.ts';
export { Catalog, explainPolicy, ExplainInputError } from './catalog/index.ts';
export type { ExplainRequest, ExplainResult, ExplainBackend, ExplainIdentity, ExplainRoute, ExplainGammaRoute } from './catalog/index.ts';
export { MeshSettingsService } from './settings/index.ts';
export type { MeshSettingsChange, MeshSettingsOptions } from './settings/index.ts';
export { CertificateManager, certificateRotated } from './certs/index.ts';
export type { CertificateRotated } from './certs/index.ts';
export * as xds from './xds/index.ts';
// The xDS pieces tests, benchmarks and embedders use most, also by name.
export {
  Snapshot,
  SnapshotCache,
  XdsServer,
  createResourceFactory,
  checkStrict,
  messageType,
  lookupMessage,
  edsNamesOf,
  rdsNamesOf,
  adsServiceDefinition,
  validateEnvoyResource,
  validateBootstrap,
  validateConfigDump,
} from './xds/index.ts';
export type { DeltaDiscoveryRequest, DeltaDiscoveryResponse__Output, DiscoveryRequest, DiscoveryResponse__Output } from './xds/server/codec.ts';
export { runCli } from './cli/main.ts';
export { IdentityService, IdentityServer, JoinTokenStore, requestCertificate, createWorkloadKey, verifyCsr } from './identity/index.ts';
export type { Authenticator, Credentials, TokenReviewer, IssueResponse, JoinTokenRecord } from './identity/index.ts';
export { PodInjector, InjectorServer, injectorRefs, injectPod, iptablesRules, initScript, MUTATE_PATH, PROXY_UUID_LABEL } from './injector/index.ts';
export type { BootstrapSecret, BootstrapSecretWriter, CaBundleSink, InjectorSettings, CaptureOptions } from './injector/index.ts';
export { Bus } from './bus/bus.ts';
export { MetricsRegistry } from './metrics/registry.ts';
export { CORE_VERSION } from './version.ts';
export { startTestMesh } from './testing/test-mesh.ts';
