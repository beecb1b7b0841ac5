import {
  CONTROLLER_SERVER_NAME,
  coreServices,
  createServiceRef,
  extensionPoints,
  parseIdentityKey,
  type DebugPage,
  type IssuedCertificate,
  type ProxyPlugin,
  type Readiness,
} from '@trellis/plugin-sdk';
import { buildTopology } from '../admin/topology.ts';
import { Catalog } from '../catalog/index.ts';
import { certificateRotated, type CertificateManager } from '../certs/index.ts';
import type { CoreComponent, CorePartsContext, CorePartsFactory } from '../kernel/mesh.ts';
import { MeshStore, routeStatusService } from '../store/index.ts';
import { meshSettingsFor, type MeshSettingsService } from '../settings/index.ts';
import { createResourceFactory, SnapshotCache, XdsServer, type BoundPorts } from '../xds/index.ts';
import { certificateManagerFor, reissueOnTrustDomainChange } from './certificates.ts';
import { ChangeTracing } from './change-tracing.ts';
import { MeshController } from './controller.ts';
import { SyncBarrier } from './sync-barrier.ts';
import { startIdentityService, servingTlsOf, writeTrustBundle } from '../identity/component.ts';
import type { IdentityServer, IdentityService } from '../identity/index.ts';
import { startInjector, type RunningInjector } from '../injector/component.ts';
import { caPage } from './ca-page.ts';
import { explainPage } from './explain-page.ts';
import { parsePolicyChange, policyDiff } from './policy-diff.ts';
import { startDenyResponder, type RunningDenyResponder } from './deny-component.ts';

/** Embedders and tests reach the controller's parts through this ref on the mesh's container. */
export const controllerRef = createServiceRef<ControllerHandle>('core.controller');

/** DNS names on the controller's ADS serving certificate. */
export const CONTROLLER_SERVER_NAMES = [CONTROLLER_SERVER_NAME, 'localhost'];

const servingTls = (c: IssuedCertificate) => ({ caPem: c.trustBundlePem, certPem: c.chainPem, keyPem: c.privateKey });

/** The core's own services other core parts can reach through the container. */
export interface ControllerHandle {
  readonly store: MeshStore;
  /** The one owner of trust domain, certificate validity and the MeshConfig's overrides. */
  readonly meshSettings: MeshSettingsService;
  readonly catalog: Catalog;
  readonly cache: SnapshotCache;
  certificates(): CertificateManager;
  server(): XdsServer;
  controller(): MeshController;
  ports(): BoundPorts;
  /** `ip:port` proxyless clients are sent for the deny responder, once listening (undefined when off). */
  denyResponderAddress(): string | undefined;
  /** `https://host:port` of the identity service, once listening (undefined when `identity.address` is unset). */
  identityUrl(): string | undefined;
  /** `https://host:port` of the sidecar injector, once listening (undefined when `injector.address` is unset). */
  injectorUrl(): string | undefined;
}

const NOT_CREATED = { readiness: (): Readiness => ({ ready: false, reason: 'not started yet' }) };

/** The certificate manager, for the core parts that need it (the graph starts it before them). */
const certificateManagerRef = createServiceRef<CertificateManager>('core.certificateManager');

/**
 * Wires the store, catalog, certificate manager, snapshot cache, controller and xDS server, and hands the
 * kernel what plugins need (source sinks, the resource factory) plus the core components the graph orders:
 * the certificate manager after the certificate provider; the xDS server after the certificate manager,
 * every proxy backend and every source.
 */
export const defaultParts: CorePartsFactory = {
  components: [
    { name: 'certificate-manager', consumes: [extensionPoints.certificateProvider], provides: [certificateManagerRef] },
    // Readiness only: ready once every source reported its first full sync (the barrier ADS waits on).
    { name: 'sources-synced', consumes: [extensionPoints.sources] },
    { name: 'xds-server', needs: [certificateManagerRef], consumes: [extensionPoints.proxyBackends, extensionPoints.sources, extensionPoints.tracers] },
    // Workloads' CSRs (identity.address): certificates are issued only here, never on a workload host.
    // After the sources: the Kubernetes source provides the TokenReview, bootstrap Secrets and the webhook's caBundle.
    { name: 'identity-service', needs: [certificateManagerRef], consumes: [extensionPoints.sources] },
    // The sidecar-injector webhook (injector.address).
    { name: 'injector', needs: [certificateManagerRef], consumes: [extensionPoints.sources] },
  ],
  create: (ctx) => createDefaultParts(ctx),
};

function createDefaultParts(ctx: CorePartsContext) {
  const { config, logger, bus, metrics } = ctx;
  // Policy kinds plugins contribute; the graph starts those plugins before the sources that deliver objects.
  const store = new MeshStore({ bus, logger: logger.child({ component: 'store' }), metrics, policyKinds: () => ctx.container.all(extensionPoints.policyKinds) });
  ctx.container.register(coreServices.policies, store.plugins);
  ctx.container.register(coreServices.routeStatus, routeStatusService({ routeLayers: () => store.routeLayers(), get: (k, ns, name) => store.get(k, ns, name), onChange: (l) => store.onChange(l) }));
  const meshSettings = meshSettingsFor(config, store);
  const catalog = new Catalog(store, meshSettings);
  const cache = new SnapshotCache();
  const resources = createResourceFactory();
  // Traces of config changes; inert until the xDS server starts with the tracers plugins contributed.
  const tracing = new ChangeTracing((node) => cache.keyOf(node));
  store.onChange((change) => tracing.onStoreChange(change));
  // Every configured source, created or not yet: one not created yet has not synced either.
  const sourceNames = config.plugins.filter((p) => p.kind === 'source').map((p) => p.instanceName);
  const barrier = new SyncBarrier(() => {
    const created = new Map(ctx.container.contributions(extensionPoints.sources).map((c) => [c.from, c.value]));
    return sourceNames.map((name) => ({ name, instance: created.get(name) ?? NOT_CREATED }));
  }, logger.child({ component: 'controller' }));
  let certs: CertificateManager | undefined;
  let server: XdsServer | undefined;
  let deny: RunningDenyResponder | undefined;
  let controller: MeshController | undefined;
  let ports: BoundPorts = {};
  let identity: { service: IdentityService; server: IdentityServer } | undefined;
  let injector: RunningInjector | undefined;
  const unsubscribers: (() => void)[] = [];

  const need = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`${what} is not started`);
    return v;
  };

  const certificatesComponent: CoreComponent = {
    async start() {
      const provider = ctx.container.one(extensionPoints.certificateProvider);
      if (!provider) throw new Error('no certificates plugin is configured');
      certs = certificateManagerFor(config, provider, {
        bus,
        logger: logger.child({ component: 'certs' }),
        metrics,
        settings: meshSettings,
        evictUnusedAfterMs: config.settings.certificates.evictUnusedAfter,
      });
      unsubscribers.push(reissueOnTrustDomainChange(meshSettings, certs, logger.child({ component: 'certs' })));
      await certs.start();
      ctx.container.register(certificateManagerRef, certs);
    },
    async stop() {
      certs?.stop();
    },
    readiness: (): Readiness => certs?.readiness() ?? { ready: false, reason: 'not started' },
  };

  const xdsComponent: CoreComponent = {
    async start() {
      const manager = ctx.container.resolve(certificateManagerRef);
      // One backend per node kind: the graph refused clashes before anything started.
      const backends = new Map<string, ProxyPlugin>(ctx.container.all(extensionPoints.proxyBackends).map((p) => [p.nodeKind, p]));
      const xds = config.settings.xds;
      tracing.use(ctx.container.all(extensionPoints.tracers));
      const mc = new MeshController({
        catalog,
        cache,
        resources,
        backends,
        certificates: manager,
        logger: logger.child({ component: 'controller' }),
        metrics,
        debounce: { quietMs: xds.debounce.quiet, maxDelayMs: xds.debounce.max },
        rebuildConcurrency: xds.rebuildConcurrency,
        plaintextIssuance: { ratePerSecond: xds.plaintextIssuance.rate, burst: xds.plaintextIssuance.burst },
        ...(tracing.enabled ? { tracing } : {}),
      });
      controller = mc;
      unsubscribers.push(store.onChange((change) => mc.onStoreChange(change)));
      unsubscribers.push(
        bus.subscribe(
          certificateRotated,
          async (e) => {
            if (e.kind === 'workload') mc.onCertificateRotated(e.identity);
            // The ADS listener's own certificate (and, after a root change, the CA it checks clients against).
            if (e.kind === 'server' && server) {
              const tls = servingTls(await manager.server(CONTROLLER_SERVER_NAMES));
              server.updateTls(tls);
              deny?.responder.updateTls(tls);
            }
          },
          { name: 'controller' },
        ),
      );
      const serverCert = await manager.server(CONTROLLER_SERVER_NAMES);
      deny = await startDenyResponder({ settings: xds.denyResponder, tls: servingTls(serverCert), backends, resources, catalog, store, meshSettings, logger, metrics });
      server = new XdsServer({
        cache,
        address: xds.address,
        tls: servingTls(serverCert),
        ...(xds.plaintextAddress ? { plaintextAddress: xds.plaintextAddress } : {}),
        limits: {
          maxStreams: xds.maxStreams,
          connectionsPerSecond: xds.connectionsPerSecond,
          pushConcurrency: xds.pushConcurrency,
          listenBacklog: xds.listenBacklog,
          maxBufferedBytesPerStream: xds.maxBufferedBytesPerStream,
          maxSubscriptionsPerStream: xds.maxSubscriptionsPerStream,
          logLinesPerSecond: xds.logLinesPerSecond,
        },
        logger,
        metrics,
        ...(tracing.enabled ? { hooks: tracing.hooks } : {}),
        notServingReason: () => barrier.check(),
        trustDomains: () => meshSettings.trustDomains(),
        onNodeConnected: (node, source) => mc.nodeConnected(node, source),
        onNodeDisconnected: (node) => mc.nodeDisconnected(node),
        ...(deny ? { standIns: deny.standIns } : {}),
      });
      ports = await server.start();
    },
    async stop() {
      for (const u of unsubscribers.splice(0)) u();
      controller?.stop();
      await server?.stop(Math.min(5000, config.settings.shutdown.grace));
      await deny?.responder.stop();
    },
    readiness: (): Readiness => (server ? { ready: true } : { ready: false, reason: 'ADS not listening yet' }),
  };

  const identityComponent: CoreComponent = {
    async start() {
      const manager = ctx.container.resolve(certificateManagerRef);
      const provider = ctx.container.one(extensionPoints.certificateProvider);
      if (!provider) throw new Error('no certificates plugin is configured');
      identity = await startIdentityService({ config, provider, manager, settings: meshSettings, container: ctx.container, logger, metrics });
      const started = identity;
      if (started)
        unsubscribers.push(
          bus.subscribe(
            certificateRotated,
            async (e) => {
              if (e.kind !== 'server') return;
              const serving = await manager.server(CONTROLLER_SERVER_NAMES);
              started.server.updateTls(servingTlsOf(serving));
              await writeTrustBundle(config, serving.trustBundlePem);
            },
            { name: 'identity-service' },
          ),
        );
    },
    async stop() {
      await identity?.server.stop();
    },
  };

  const injectorComponent: CoreComponent = {
    async start() {
      const manager = ctx.container.resolve(certificateManagerRef);
      injector = await startInjector({ config, manager, settings: meshSettings, container: ctx.container, logger, metrics });
      const started = injector;
      if (started) unsubscribers.push(bus.subscribe(certificateRotated, async (e) => (e.kind === 'server' ? started.refresh() : undefined), { name: 'injector' }));
    },
    async stop() {
      await injector?.server.stop();
    },
  };

  const debugPages: DebugPage[] = [
    {
      name: 'policies',
      get: () => ({ policies: store.policyStatuses(), sourceErrors: store.sourceErrors(), ignored: store.ignoredObjects() }),
    },
    {
      name: 'proxies',
      get: () => server?.registry.list() ?? [],
      getOne: (id) => server?.registry.describe(id),
    },
    { name: 'topology', get: () => buildTopology({ store, catalog, proxies: () => server?.registry.list() ?? [] }) },
    { name: 'certs', get: () => certs?.debugCerts() ?? [], getOne: (id) => (id === 'issuance' ? (identity?.service.debug() ?? { disabled: 'identity.address is not set' }) : undefined) },
    explainPage(catalog, store),
    caPage(() => certs, CONTROLLER_SERVER_NAMES),
    {
      name: 'diff',
      get: () => ({ usage: 'POST /debug/diff {"apply": [objects], "delete": [objects or keys]}: a dry run against the running mesh' }),
      post: (body) =>
        policyDiff({ store, meshSettings, controller: need(controller, 'the controller'), policyKinds: () => ctx.container.all(extensionPoints.policyKinds) }, parsePolicyChange(body)),
    },
    {
      name: 'views',
      get: () => catalog.identities().map((i) => `${i.namespace}/${i.serviceAccount}`),
      getOne: (id) => {
        const identity = parseIdentityKey(id);
        return identity ? catalog.viewFor(identity) : undefined;
      },
    },
  ];

  const handle: ControllerHandle = {
    store,
    meshSettings,
    catalog,
    cache,
    certificates: () => need(certs, 'the certificate manager'),
    server: () => need(server, 'the xDS server'),
    controller: () => need(controller, 'the controller'),
    ports: () => ports,
    denyResponderAddress: () => (deny ? `${deny.address.ip.includes(':') ? `[${deny.address.ip}]` : deny.address.ip}:${deny.address.port}` : undefined),
    identityUrl: () => identity?.server.url,
    injectorUrl: () => injector?.server.url,
  };
  ctx.container.register(controllerRef, handle);
  for (const page of debugPages) ctx.container.contribute(extensionPoints.debugPages, { value: page, from: 'core', origin: 'core' });

  return {
    sinkFor: (name: string) => tracing.wrapSink(name, store.sinkFor(name)),
    resources,
    components: {
      'certificate-manager': certificatesComponent,
      'sources-synced': { readiness: () => barrier.readiness() },
      'xds-server': xdsComponent,
      'identity-service': identityComponent,
      injector: injectorComponent,
    },
    mesh: meshSettings.forPlugins(),
    handle,
  };
}
