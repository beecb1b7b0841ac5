import {
  coreServices,
  ErrorCodes,
  extensionPoints,
  KIND_EXTENSION_POINTS,
  TrellisError,
  type AnyPluginDefinition,
  type EventBus,
  type ExtensionPoint,
  type Lifecycle as PluginLifecycle,
  type Logger,
  type MeshSettings,
  type Metrics,
  type PluginKind,
  type ServiceRef,
  type SourceSink,
  type XdsResourceFactory,
} from '@trellis/plugin-sdk';
import { AdminServer } from '../admin/server.ts';
import { Bus } from '../bus/bus.ts';
import type { ConfiguredPlugin, LoadedConfig } from '../config/load.ts';
import { MetricsRegistry } from '../metrics/registry.ts';
import { CORE_VERSION } from '../version.ts';
import { ServiceContainer } from './container.ts';
import { planGraph, pluginNode, type GraphNode, type GraphProblem } from './graph.ts';
import { Lifecycle, type Component, type ComponentStatus } from './lifecycle.ts';
import { createLogger } from './logger.ts';

/** A core part as the graph sees it: what it provides, needs and reads, declared before anything is built. */
export interface CoreComponentDecl {
  readonly name: string;
  readonly provides?: readonly ServiceRef<unknown>[];
  readonly needs?: readonly ServiceRef<unknown>[];
  readonly consumes?: readonly ExtensionPoint<unknown>[];
}

/** The lifecycle of a declared core component. */
export type CoreComponent = Pick<Component, 'start' | 'stop' | 'readiness'>;

/** What the mesh's core parts (store, catalog, certificates, xDS) give the kernel to wire plugins to. */
export interface CoreParts {
  sinkFor(sourceName: string): SourceSink;
  readonly resources: XdsResourceFactory;
  /** The lifecycle of every component the factory declared, by name. */
  readonly components: Readonly<Record<string, CoreComponent>>;
  /** What plugins see as `ctx.mesh` (a live read of the mesh settings); default: the config file's values. */
  readonly mesh?: MeshSettings;
}

export interface CorePartsContext {
  readonly config: LoadedConfig;
  readonly logger: Logger;
  readonly bus: EventBus;
  readonly metrics: Metrics;
  /** The mesh's container: services and extension-point contributions (typed by their refs). */
  readonly container: ServiceContainer;
}

/** Builds the store, catalog, certificate manager and xDS server (replaceable in tests). */
export interface CorePartsFactory {
  /** Read by `trellis validate` and the kernel's graph check before anything is built. */
  readonly components: readonly CoreComponentDecl[];
  create(ctx: CorePartsContext): CoreParts | Promise<CoreParts>;
}

export interface StartMeshOptions {
  readonly config: LoadedConfig;
  readonly logger?: Logger;
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
  /** Component names in start order (dependencies first). */
  readonly startOrder: readonly string[];
  instance<T = unknown>(name: string): T | undefined;
  /** The store's sink for a source of this name (tests and embedders feed objects through it). */
  sink(sourceName: string): SourceSink;
  status(): readonly ComponentStatus[];
  ready(): boolean;
  stop(): Promise<void>;
}

/** Services the kernel registers itself, before any component. */
const KERNEL_SERVICES: readonly ServiceRef<unknown>[] = Object.values(coreServices);

/** Plugins are listed certificates first, then sources, proxies, exporters: ties in the graph keep this order. */
const KIND_ORDER: readonly PluginKind[] = ['certificates', 'source', 'proxy', 'observability'];

const ADMIN_NODE: GraphNode = { name: 'admin', type: 'core', origin: 'core', provides: [], needs: [], contributes: [], consumes: [extensionPoints.adminRoutes] };

function coreNode(d: CoreComponentDecl): GraphNode {
  return {
    name: d.name,
    type: 'core',
    origin: 'core',
    provides: d.provides ?? [],
    needs: (d.needs ?? []).map((ref) => ({ key: ref.id, ref })),
    contributes: [],
    consumes: d.consumes ?? [],
  };
}

/**
 * The whole component graph of a config: the admin server, the core parts and every configured plugin,
 * checked and ordered. `trellis validate` runs this without creating anything.
 */
export function planMesh(config: LoadedConfig, parts: CorePartsFactory, opts: { admin?: boolean } = {}): { order: readonly GraphNode[]; problems: readonly GraphProblem[] } {
  const plugins = [...config.plugins].sort((a, b) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind));
  const nodes: GraphNode[] = [...(opts.admin === false ? [] : [ADMIN_NODE]), ...parts.components.map(coreNode), ...plugins.map(pluginNode)];
  return planGraph(nodes, KERNEL_SERVICES);
}

/** A graph that cannot start, as one error carrying every problem (code and config path each). */
export class GraphError extends TrellisError {
  readonly problems: readonly GraphProblem[];
  constructor(problems: readonly GraphProblem[]) {
    const lines = problems.map((p) => `${p.code} ${p.path}: ${p.message}`);
    super(problems[0]?.code ?? ErrorCodes.CONFIG_INVALID, `the component graph cannot start:\n  ${lines.join('\n  ')}`, {
      details: lines,
      ...(problems[0] ? { path: problems[0].path } : {}),
    });
    this.name = 'GraphError';
    this.problems = problems;
  }
}

/**
 * Builds and starts a mesh from a validated config. The component graph (core parts and plugins, with what
 * each provides and needs) is checked first; then each component is created and started in dependency order,
 * and stopped in reverse on `stop()`. On a start failure everything already started is stopped within
 * `shutdown.grace` and the error names the failing component.
 */
export async function startMesh(opts: StartMeshOptions): Promise<Mesh> {
  const { config } = opts;
  const graceMs = config.settings.shutdown.grace;
  const adminAddress = opts.adminAddress ?? config.settings.admin.address;
  const plan = planMesh(config, opts.parts, { admin: adminAddress !== false });
  if (plan.problems.length) throw new GraphError(plan.problems);

  const logger = opts.logger ?? createLogger({ level: config.settings.log.level });
  const kernelLog = logger.child({ component: 'kernel' });
  const metrics = new MetricsRegistry({ processMetrics: true });
  const bus = new Bus(logger.child({ component: 'bus' }), metrics);
  const container = new ServiceContainer();
  container.register(coreServices.logger, logger);
  container.register(coreServices.bus, bus);
  container.register(coreServices.metrics, metrics);

  metrics.gauge({ name: 'trellis_build_info', help: 'Build information; always 1.', labelNames: ['version', 'node'] })
    .set(1, { version: CORE_VERSION, node: process.version });
  const pluginState = metrics.gauge({ name: 'trellis_plugin_up', help: '1 when a plugin is running and ready, else 0.', labelNames: ['plugin', 'kind'] });

  const parts = await opts.parts.create({ config, logger, bus, metrics, container });
  const lifecycle = new Lifecycle(logger.child({ component: 'lifecycle' }));
  const created = new Map<string, PluginLifecycle>();
  const byName = new Map(config.plugins.map((cp) => [cp.instanceName, cp]));

  const pluginInfos: PluginInfo[] = plan.order.flatMap((n) => {
    const cp = n.type === 'plugin' ? byName.get(n.name) : undefined;
    if (!cp) return [];
    const d = cp.definition;
    return [{ name: cp.instanceName, kind: cp.kind, use: cp.use, version: d.version, stability: d.stability, ...(d.description ? { description: d.description } : {}), origin: cp.path }];
  });
  container.contribute(extensionPoints.debugPages, {
    from: 'kernel',
    origin: 'core',
    value: { name: 'plugins', get: () => pluginInfos.map((p) => ({ ...p, ...lifecycle.status().find((s) => s.name === p.name) })) },
  });
  const mesh: MeshSettings = parts.mesh ?? { name: config.settings.mesh.name, trustDomain: config.settings.mesh.trustDomain };
  container.register(coreServices.mesh, mesh);

  let admin: AdminServer | undefined;
  for (const node of plan.order) {
    if (node === ADMIN_NODE) {
      admin = new AdminServer({
        address: adminAddress as string,
        logger: logger.child({ component: 'admin' }),
        metrics,
        status: () => lifecycle.status(),
        debugPages: () => container.all(extensionPoints.debugPages),
        pluginRoutes: () => container.contributions(extensionPoints.adminRoutes).map((c) => ({ plugin: c.from, route: c.value })),
        bus,
      });
      const a = admin;
      lifecycle.add({ name: 'admin', type: 'core', origin: 'core', start: () => a.start(), stop: () => a.stop() });
    } else if (node.type === 'core') {
      const c = parts.components[node.name];
      if (!c) throw new Error(`core parts declared "${node.name}" but built no such component`);
      lifecycle.add({ name: node.name, type: 'core', origin: 'core', ...c });
    } else {
      const cp = byName.get(node.name) as ConfiguredPlugin;
      lifecycle.add({
        name: cp.instanceName,
        type: 'plugin',
        origin: cp.path,
        // Created when its turn comes, so the services it depends on already exist.
        start: async () => {
          const instance = await createPlugin(cp, { container, logger, mesh, baseDir: config.baseDir, parts });
          created.set(cp.instanceName, instance);
          await instance.start?.();
        },
        stop: async () => {
          await created.get(cp.instanceName)?.stop?.();
        },
        readiness: () => {
          const r = created.get(cp.instanceName)?.readiness?.() ?? { ready: true };
          pluginState.set(r.ready ? 1 : 0, { plugin: cp.instanceName, kind: cp.kind });
          return r;
        },
      });
    }
  }
  await lifecycle.start(graceMs);
  kernelLog.info('mesh started', { mesh: mesh.name, order: plan.order.map((n) => n.name) });

  return {
    bus,
    metrics,
    logger,
    container,
    get adminUrl() {
      return admin?.url;
    },
    plugins: pluginInfos,
    startOrder: plan.order.map((n) => n.name),
    instance: <T>(name: string) => created.get(name) as T | undefined,
    sink: (sourceName: string) => parts.sinkFor(sourceName),
    status: () => lifecycle.status(),
    ready: () => lifecycle.status().every((s) => s.ready),
    stop: async () => {
      kernelLog.info('stopping mesh', { graceMs });
      await lifecycle.stop(graceMs);
    },
  };
}

/**
 * Creates one plugin in its own child container: its scoped logger is registered there under the core token,
 * its declared deps resolve through the hierarchy, and what it provides or contributes goes to the mesh's
 * container, checked against what it declared.
 */
async function createPlugin(
  cp: ConfiguredPlugin,
  env: { container: ServiceContainer; logger: Logger; mesh: MeshSettings; baseDir: string; parts: CoreParts },
): Promise<PluginLifecycle> {
  const def: AnyPluginDefinition = cp.definition;
  const at = `plugin "${cp.instanceName}" (${cp.path})`;
  const logger = env.logger.child({ plugin: cp.instanceName });
  const child = env.container.child();
  child.register(coreServices.logger, logger);
  const deps: Record<string, unknown> = {};
  for (const [key, ref] of Object.entries((def.deps ?? {}) as Record<string, ServiceRef<unknown>>)) {
    if (!child.has(ref)) throw new TrellisError(ErrorCodes.PLUGIN_DEPENDENCY_MISSING, `${at} depends on service "${ref.id}", which nothing provides`, { path: cp.path });
    deps[key] = child.resolve(ref);
  }
  const provided = new Set<string>();
  const declaredProvides = new Set((def.provides ?? []).map((r) => r.id));
  const declaredExtends = new Set((def.extends ?? []).map((p) => p.id));
  const from = { from: cp.instanceName, origin: cp.path };
  const caps =
    cp.kind === 'source'
      ? { sink: env.parts.sinkFor(cp.instanceName) }
      : cp.kind === 'proxy'
        ? { resources: env.parts.resources }
        : cp.kind === 'certificates'
          ? { createState: true } // the controller may create the CA on its first start (CLI commands may not)
          : {};
  let instance: PluginLifecycle;
  try {
    instance = (await def.create({
      config: cp.config,
      deps,
      logger,
      mesh: env.mesh,
      baseDir: env.baseDir,
      provide: (ref, value) => {
        if (!declaredProvides.has(ref.id))
          throw new TrellisError(ErrorCodes.PLUGIN_UNDECLARED, `${at} provides service "${ref.id}" without declaring it in "provides"`, { path: cp.path });
        env.container.register(ref, value);
        provided.add(ref.id);
      },
      extend: (point, value) => {
        if (!declaredExtends.has(point.id))
          throw new TrellisError(ErrorCodes.PLUGIN_UNDECLARED, `${at} contributes to "${point.id}" without declaring it in "extends"`, { path: cp.path });
        env.container.contribute(point, { value, ...from });
      },
      ...caps,
    }));
  } catch (err) {
    // The kernel's own checks of what the plugin does in create() pass through with their codes.
    if (err instanceof TrellisError && (err.code === ErrorCodes.PLUGIN_UNDECLARED || err.code === ErrorCodes.EXTENSION_CONFLICT)) throw err;
    throw new TrellisError(ErrorCodes.PLUGIN_START_FAILED, `${at} failed to initialise: ${(err as Error).message}`, { cause: err, path: cp.path });
  }
  const missing = [...declaredProvides].filter((id) => !provided.has(id));
  if (missing.length)
    throw new TrellisError(ErrorCodes.PLUGIN_UNDECLARED, `${at} declares it provides ${missing.map((m) => `"${m}"`).join(', ')} but did not provide it in create()`, { path: cp.path });
  if (cp.kind === 'proxy') {
    const nodeKind = (instance as { nodeKind?: unknown }).nodeKind;
    if (nodeKind !== def.nodeKind)
      throw new TrellisError(ErrorCodes.PLUGIN_INVALID, `${at} declares nodeKind "${String(def.nodeKind)}" but its instance serves "${String(nodeKind)}"`, { path: cp.path });
  }
  env.container.contribute(KIND_EXTENSION_POINTS[cp.kind], { value: instance, ...from });
  return instance;
}
