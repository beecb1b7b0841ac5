import {
  coreServices,
  ErrorCodes,
  TrellisError,
  type AnyPluginDefinition,
  type EventBus,
  type Logger,
  type MeshSettings,
  type Metrics,
  type PluginKind,
  type ServiceRef,
  type SourceSink,
  type XdsResourceFactory,
} from '@trellis/plugin-sdk';
import { AdminServer } from '../admin/server.ts';
import type { DebugPage } from '../admin/debug.ts';
import { Bus } from '../bus/bus.ts';
import type { ConfiguredPlugin, LoadedConfig } from '../config/load.ts';
import { MetricsRegistry } from '../metrics/registry.ts';
import { CORE_VERSION } from '../version.ts';
import { ServiceContainer } from './container.ts';
import { Lifecycle, type Component, type ComponentStatus } from './lifecycle.ts';
import { createLogger } from './logger.ts';

/** What the mesh's core parts (store, catalog, certificates, xDS) give the kernel to wire plugins to. */
export interface CoreParts {
  sinkFor(sourceName: string): SourceSink;
  readonly resources: XdsResourceFactory;
  /** Core components started after the certificate plugins and before the sources. */
  readonly early: readonly Component[];
  /** Core components started after every proxy plugin (the xDS server). */
  readonly late: readonly Component[];
  readonly debugPages: readonly DebugPage[];
}

export interface CorePartsContext {
  readonly config: LoadedConfig;
  readonly logger: Logger;
  readonly bus: EventBus;
  readonly metrics: Metrics;
  readonly container: ServiceContainer;
  /** Instances of the configured plugins, available once created. */
  instances(kind: PluginKind): readonly { name: string; instance: unknown }[];
}

export type CorePartsFactory = (ctx: CorePartsContext) => CoreParts | Promise<CoreParts>;

export interface StartMeshOptions {
  readonly config: LoadedConfig;
  readonly logger?: Logger;
  /** Builds the store, catalog, certificate manager and xDS server (replaceable in tests). */
  readonly parts: CorePartsFactory;
  /** Overrides `admin.address` (tests use `127.0.0.1:0`); `false` starts no admin server. */
  readonly adminAddress?: string | false;
}

export interface PluginInfo {
  readonly name: string;
  readonly kind: PluginKind;
  readonly use: string;
  readonly version: string;
  readonly stability: string;
  readonly description?: string;
  readonly origin: string;
}

export interface Mesh {
  readonly bus: EventBus;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly container: ServiceContainer;
  /** Admin base URL, e.g. `http://127.0.0.1:9091`, when the admin server runs. */
  readonly adminUrl: string | undefined;
  readonly plugins: readonly PluginInfo[];
  instance<T = unknown>(name: string): T | undefined;
  /** The store's sink for a source of this name (tests and embedders feed objects through it). */
  sink(sourceName: string): SourceSink;
  status(): readonly ComponentStatus[];
  ready(): boolean;
  stop(): Promise<void>;
}

/** Plugin kinds start in this order: providers of certificates first, consumers of the catalog later. */
const KIND_ORDER: readonly PluginKind[] = ['certificates', 'source', 'proxy', 'observability'];

/**
 * Builds and starts a mesh from a validated config: container, bus, metrics, plugins (in dependency order)
 * and the core parts; stops everything in reverse on `stop()`. On a start failure everything already
 * started is stopped and the error names the failing plugin.
 */
export async function startMesh(opts: StartMeshOptions): Promise<Mesh> {
  const { config } = opts;
  const logger = opts.logger ?? createLogger({ level: config.settings.log.level });
  const kernelLog = logger.child({ component: 'kernel' });
  const metrics = new MetricsRegistry({ processMetrics: true });
  const bus = new Bus(logger.child({ component: 'bus' }), metrics);
  const container = new ServiceContainer();
  const mesh: MeshSettings = { name: config.settings.mesh.name, trustDomain: config.settings.mesh.trustDomain };
  container.register(coreServices.logger, logger);
  container.register(coreServices.bus, bus);
  container.register(coreServices.metrics, metrics);
  container.register(coreServices.mesh, mesh);

  metrics.gauge({ name: 'trellis_build_info', help: 'Build information; always 1.', labelNames: ['version', 'node'] })
    .set(1, { version: CORE_VERSION, node: process.version });
  const pluginState = metrics.gauge({ name: 'trellis_plugin_up', help: '1 when a plugin is running and ready, else 0.', labelNames: ['plugin', 'kind'] });

  const lifecycle = new Lifecycle(logger.child({ component: 'lifecycle' }));
  const created = new Map<string, { cp: ConfiguredPlugin; instance: unknown }>();
  const ordered = [...config.plugins].sort((a, b) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind));

  const parts = await opts.parts({
    config,
    logger,
    bus,
    metrics,
    container,
    instances: (kind) => [...created.values()].filter((c) => c.cp.kind === kind).map((c) => ({ name: c.cp.instanceName, instance: c.instance })),
  });

  let admin: AdminServer | undefined;
  const debugPages = (): DebugPage[] => [
    { name: 'plugins', get: () => pluginInfos.map((p) => ({ ...p, ...lifecycle.status().find((s) => s.name === p.name) })) },
    ...parts.debugPages,
  ];
  const pluginInfos: PluginInfo[] = ordered.map((cp) => ({
    name: cp.instanceName,
    kind: cp.kind,
    use: cp.use,
    version: cp.definition.version,
    stability: cp.definition.stability,
    ...(cp.definition.description ? { description: cp.definition.description } : {}),
    origin: cp.path,
  }));
  const adminAddress = opts.adminAddress ?? config.settings.admin.address;
  if (adminAddress !== false) {
    admin = new AdminServer({
      address: adminAddress,
      logger: logger.child({ component: 'admin' }),
      metrics,
      status: () => lifecycle.status(),
      debugPages,
    });
    lifecycle.add({ name: 'admin', type: 'core', origin: 'core', start: () => admin?.start(), stop: () => admin?.stop() });
  }

  const addPlugin = async (cp: ConfiguredPlugin): Promise<void> => {
    const instance = await createPlugin(cp, { container, logger, mesh, baseDir: config.baseDir, parts });
    created.set(cp.instanceName, { cp, instance });
    const i = instance as { start?: () => unknown; stop?: () => unknown; readiness?: () => { ready: boolean; reason?: string } };
    lifecycle.add({
      name: cp.instanceName,
      type: 'plugin',
      origin: cp.path,
      start: async () => {
        await i.start?.();
      },
      stop: async () => {
        await i.stop?.();
      },
      readiness: () => {
        const r = i.readiness?.() ?? { ready: true };
        pluginState.set(r.ready ? 1 : 0, { plugin: cp.instanceName, kind: cp.kind });
        return r;
      },
    });
  };

  try {
    for (const cp of ordered.filter((p) => p.kind === 'certificates')) await addPlugin(cp);
    for (const c of parts.early) lifecycle.add(c);
    for (const cp of ordered.filter((p) => p.kind === 'source' || p.kind === 'proxy')) await addPlugin(cp);
    for (const c of parts.late) lifecycle.add(c);
    for (const cp of ordered.filter((p) => p.kind === 'observability')) await addPlugin(cp);
  } catch (err) {
    await lifecycle.stop(config.settings.shutdown.grace);
    throw err;
  }
  await lifecycle.start();
  kernelLog.info('mesh started', { mesh: mesh.name, plugins: ordered.map((p) => p.instanceName) });

  return {
    bus,
    metrics,
    logger,
    container,
    get adminUrl() {
      return admin?.url;
    },
    plugins: pluginInfos,
    instance: <T>(name: string) => created.get(name)?.instance as T | undefined,
    sink: (sourceName: string) => parts.sinkFor(sourceName),
    status: () => lifecycle.status(),
    ready: () => lifecycle.status().every((s) => s.ready),
    stop: async () => {
      kernelLog.info('stopping mesh', { graceMs: config.settings.shutdown.grace });
      await lifecycle.stop(config.settings.shutdown.grace);
    },
  };
}

async function createPlugin(
  cp: ConfiguredPlugin,
  env: { container: ServiceContainer; logger: Logger; mesh: MeshSettings; baseDir: string; parts: CoreParts },
): Promise<unknown> {
  const def: AnyPluginDefinition = cp.definition;
  const child = env.container.child();
  const deps: Record<string, unknown> = {};
  for (const [key, ref] of Object.entries((def.deps ?? {}) as Record<string, ServiceRef<unknown>>)) {
    if (!child.has(ref))
      throw new TrellisError(ErrorCodes.PLUGIN_DEPENDENCY_MISSING, `plugin "${cp.instanceName}" (${cp.path}) depends on service "${ref.id}", which nothing provides`);
    deps[key] = child.resolve(ref);
  }
  const logger = env.logger.child({ plugin: cp.instanceName });
  const caps =
    cp.kind === 'source' ? { sink: env.parts.sinkFor(cp.instanceName) } : cp.kind === 'proxy' ? { resources: env.parts.resources } : {};
  try {
    return await def.create({ config: cp.config, deps, logger, mesh: env.mesh, baseDir: env.baseDir, ...caps });
  } catch (err) {
    throw new TrellisError(ErrorCodes.PLUGIN_START_FAILED, `plugin "${cp.instanceName}" (${cp.path}) failed to initialise: ${(err as Error).message}`, { cause: err });
  }
}
