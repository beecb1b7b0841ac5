import { CONTROLLER_SERVER_NAME, createServiceRef, parseIdentityKey, type CertificatesPlugin, type IssuedCertificate, type ProxyPlugin, type Readiness } from '@trellis/plugin-sdk';
import type { DebugPage } from '../admin/debug.ts';
import { Catalog } from '../catalog/index.ts';
import { certificateRotated, type CertificateManager } from '../certs/index.ts';
import type { Component } from '../kernel/lifecycle.ts';
import type { CoreParts, CorePartsFactory } from '../kernel/mesh.ts';
import { MeshStore } from '../store/index.ts';
import { createResourceFactory, SnapshotCache, XdsServer, type BoundPorts } from '../xds/index.ts';
import { certificateManagerFor } from './certificates.ts';
import { MeshController } from './controller.ts';

/** Embedders and tests reach the controller's parts through this ref on the mesh's container. */
export const controllerRef = createServiceRef<ControllerHandle>('core.controller');

/** DNS names on the controller's ADS serving certificate. */
export const CONTROLLER_SERVER_NAMES = [CONTROLLER_SERVER_NAME, 'localhost'];

const servingTls = (c: IssuedCertificate) => ({ caPem: c.trustBundlePem, certPem: c.chainPem, keyPem: c.privateKey });

/** The core's own services other core parts can reach through the container. */
export interface ControllerHandle {
  readonly store: MeshStore;
  readonly catalog: Catalog;
  readonly cache: SnapshotCache;
  certificates(): CertificateManager;
  server(): XdsServer;
  controller(): MeshController;
  ports(): BoundPorts;
}

/**
 * Wires the store, catalog, certificate manager, snapshot cache, controller and xDS server, and hands the
 * kernel what plugins need (source sinks, the resource factory) plus the core components in start order.
 */
export const defaultParts: CorePartsFactory = (ctx): CoreParts & { handle: ControllerHandle } => {
  const { config, logger, bus, metrics } = ctx;
  const store = new MeshStore({
    bus,
    logger: logger.child({ component: 'store' }),
    metrics,
    defaults: { trustDomain: config.settings.mesh.trustDomain, serviceCertValidityMs: config.settings.certificates.validity },
  });
  const catalog = new Catalog(store);
  const cache = new SnapshotCache();
  const resources = createResourceFactory();
  let certs: CertificateManager | undefined;
  let server: XdsServer | undefined;
  let controller: MeshController | undefined;
  let ports: BoundPorts = {};
  const unsubscribers: (() => void)[] = [];

  const need = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`${what} is not started`);
    return v;
  };

  const certificatesComponent: Component = {
    name: 'certificate-manager',
    type: 'core',
    origin: 'core',
    async start() {
      const provider = ctx.instances('certificates')[0]?.instance as CertificatesPlugin | undefined;
      if (!provider) throw new Error('no certificates plugin is configured');
      certs = certificateManagerFor(config, provider, {
        bus,
        logger: logger.child({ component: 'certs' }),
        metrics,
        // A MeshConfig's serviceCertValidityDuration wins over the config file (OSM's knob).
        workloadValidityMs: () => catalog.settings().serviceCertValidityMs,
        evictUnusedAfterMs: config.settings.certificates.evictUnusedAfter,
      });
      await certs.start();
    },
    async stop() {
      certs?.stop();
    },
    readiness: (): Readiness => certs?.readiness() ?? { ready: false, reason: 'not started' },
  };

  const xdsComponent: Component = {
    name: 'xds-server',
    type: 'core',
    origin: 'core',
    async start() {
      const manager = need(certs, 'the certificate manager');
      const backends = new Map<string, ProxyPlugin>();
      for (const { name, instance } of ctx.instances('proxy')) {
        const p = instance as ProxyPlugin;
        if (backends.has(p.nodeKind)) throw new Error(`proxy plugins "${name}" and another both serve node kind "${p.nodeKind}"`);
        backends.set(p.nodeKind, p);
      }
      const xds = config.settings.xds;
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
      });
      controller = mc;
      unsubscribers.push(store.onChange((change) => mc.onStoreChange(change)));
      unsubscribers.push(
        bus.subscribe(
          certificateRotated,
          async (e) => {
            if (e.kind === 'workload') mc.onCertificateRotated(e.identity);
            // The ADS listener's own certificate (and, after a root change, the CA it checks clients against).
            if (e.kind === 'server' && server) server.updateTls(servingTls(await manager.server(CONTROLLER_SERVER_NAMES)));
          },
          { name: 'controller' },
        ),
      );
      const serverCert = await manager.server(CONTROLLER_SERVER_NAMES);
      server = new XdsServer({
        cache,
        address: xds.address,
        tls: servingTls(serverCert),
        ...(xds.plaintextAddress ? { plaintextAddress: xds.plaintextAddress } : {}),
        limits: {
          maxStreams: xds.maxStreams,
          connectionsPerSecond: xds.connectionsPerSecond,
          pushConcurrency: xds.pushConcurrency,
          maxBufferedBytesPerStream: xds.maxBufferedBytesPerStream,
          maxSubscriptionsPerStream: xds.maxSubscriptionsPerStream,
          logLinesPerSecond: xds.logLinesPerSecond,
        },
        logger,
        metrics,
        onNodeConnected: (node, source) => mc.nodeConnected(node, source),
        onNodeDisconnected: (node) => mc.nodeDisconnected(node),
      });
      ports = await server.start();
    },
    async stop() {
      for (const u of unsubscribers.splice(0)) u();
      controller?.stop();
      await server?.stop(Math.min(5000, config.settings.shutdown.grace));
    },
    readiness: (): Readiness => (server ? { ready: true } : { ready: false, reason: 'ADS not listening yet' }),
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
    { name: 'certs', get: () => certs?.debugCerts() ?? [] },
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
    catalog,
    cache,
    certificates: () => need(certs, 'the certificate manager'),
    server: () => need(server, 'the xDS server'),
    controller: () => need(controller, 'the controller'),
    ports: () => ports,
  };
  ctx.container.register(controllerRef, handle);

  return {
    sinkFor: (name) => store.sinkFor(name),
    resources,
    early: [certificatesComponent],
    late: [xdsComponent],
    debugPages,
    handle,
  };
};
