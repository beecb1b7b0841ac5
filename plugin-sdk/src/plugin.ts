import { extensionPoints, type CliCommand, type ExtensionPoint } from './extensions.ts';
import type { CertificatesPlugin } from './kinds/certificates.ts';
import type { ObservabilityPlugin } from './kinds/observability.ts';
import type { ProxyPlugin } from './kinds/proxy.ts';
import type { SourcePlugin, SourceSink } from './kinds/source.ts';
import type { Logger } from './logger.ts';
import type { ProxyKind } from './mesh/identity.ts';
import type { Schema, SchemaIssue } from './schema.ts';
import type { MeshSettings, ServiceRef } from './services.ts';
import type { XdsResourceFactory } from './xds/resources.ts';

export type PluginKind = 'source' | 'proxy' | 'certificates' | 'observability';
export const PLUGIN_KINDS: readonly PluginKind[] = ['source', 'proxy', 'certificates', 'observability'];

export type Stability = 'stable' | 'beta' | 'alpha';

/** What `create` returns for each kind. */
export interface PluginInstances {
  source: SourcePlugin;
  proxy: ProxyPlugin;
  certificates: CertificatesPlugin;
  observability: ObservabilityPlugin;
}

/** The extension point each kind's instance fills (the kernel contributes it; plugins need not declare it). */
export const KIND_EXTENSION_POINTS = {
  source: extensionPoints.sources,
  proxy: extensionPoints.proxyBackends,
  certificates: extensionPoints.certificateProvider,
  observability: extensionPoints.exporters,
} as const satisfies { [K in PluginKind]: ExtensionPoint<PluginInstances[K]> };

/** Capabilities the core hands to a plugin of each kind, besides its declared dependencies. */
export interface KindCapabilities {
  source: { readonly sink: SourceSink };
  proxy: { readonly resources: XdsResourceFactory };
  certificates: {
    /**
     * Whether this process may create the provider's persistent state (e.g. a new root CA) when there is
     * none: true in the controller, false (or absent) in CLI commands, which must only use existing state.
     */
    readonly createState?: boolean;
  };
  observability: Record<never, never>;
}

type Deps = Record<string, ServiceRef<unknown>>;
export type ResolvedDeps<D extends Deps> = { [K in keyof D]: D[K] extends ServiceRef<infer T> ? T : never };

export type CreateContext<K extends PluginKind, C, D extends Deps> = {
  /** The plugin's `config` block, decoded by `configSchema`. */
  readonly config: C;
  readonly deps: ResolvedDeps<D>;
  /** A logger whose lines carry `plugin: <name>`. */
  readonly logger: Logger;
  readonly mesh: MeshSettings;
  /** Directory config-relative paths resolve against (the config file's directory). */
  readonly baseDir: string;
  /** Makes a service this plugin declared in `provides` available to the plugins that depend on it. */
  provide<T>(ref: ServiceRef<T>, value: T): void;
  /** Contributes to an extension point this plugin declared in `extends` (a debug page, an admin route...). */
  extend<T>(point: ExtensionPoint<T>, value: T): void;
} & KindCapabilities[K];

/** What only proxy plugins declare: the node-id kind they serve, so a clash is found before anything starts. */
export type KindSpec<K extends PluginKind> = K extends 'proxy' ? { readonly nodeKind: ProxyKind } : { readonly nodeKind?: never };

export type PluginSpec<K extends PluginKind, C, D extends Deps> = PluginSpecBase<K, C, D> & KindSpec<K>;

export interface PluginSpecBase<K extends PluginKind, C, D extends Deps> {
  /** The `use:` name for built-ins, and the name in logs and metrics. */
  readonly name: string;
  readonly kind: K;
  readonly version: string;
  /** Semver range of `@trellis/core` versions this plugin works with, e.g. `^0.1.0`. */
  readonly coreRange: string;
  readonly stability?: Stability;
  readonly description?: string;
  readonly configSchema?: Schema<C>;
  /**
   * Checks of the decoded config that need more than its value, e.g. the file system. `trellis validate` and
   * controller start run it after `configSchema`; issue paths are relative to the plugin's `config` block.
   * Errors fail the config; warnings are printed and do not.
   */
  readonly validateConfig?: (config: C, ctx: ConfigCheckContext) => readonly ConfigCheckIssue[] | Promise<readonly ConfigCheckIssue[]>;
  /** Services this plugin needs; the kernel starts their providers first and resolves them into `ctx.deps`. */
  readonly deps?: D;
  /** Services this plugin provides (with `ctx.provide` in `create`) for other plugins' `deps`. */
  readonly provides?: readonly ServiceRef<unknown>[];
  /** Extension points this plugin contributes to (with `ctx.extend`), besides its kind's own. */
  readonly extends?: readonly ExtensionPoint<unknown>[];
  /** `trellis <name>` commands this plugin ships. */
  readonly commands?: readonly CliCommand<C>[];
  create(ctx: CreateContext<K, C, D>): PluginInstances[K] | Promise<PluginInstances[K]>;
}

export interface ConfigCheckContext {
  /** Directory config-relative paths resolve against (the config file's directory). */
  readonly baseDir: string;
}

export interface ConfigCheckIssue extends SchemaIssue {
  /** Default `error`. */
  readonly severity?: 'error' | 'warning';
}

export const PLUGIN_MARK = Symbol.for('trellis.plugin');

export type PluginDefinition<K extends PluginKind = PluginKind, C = unknown, D extends Deps = Deps> = PluginSpec<K, C, D> & {
  readonly [PLUGIN_MARK]: true;
  readonly stability: Stability;
};

/** Any plugin definition, whatever its kind, config or deps (what loaders and registries hold). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyPluginDefinition = PluginDefinition<PluginKind, any, any>;

/**
 * Declares a plugin. The package's default export is the result; `use:` in the config file names it.
 * @public
 */
export function definePlugin<K extends PluginKind, C = Record<string, never>, D extends Deps = Record<string, never>>(
  spec: PluginSpec<K, C, D>,
): PluginDefinition<K, C, D> {
  if (!/^[a-z][a-z0-9-]*$/.test(spec.name)) throw new Error(`plugin name "${spec.name}" must be lower-case letters, digits and dashes`);
  if (spec.kind === 'proxy' && !spec.nodeKind) throw new Error(`proxy plugin "${spec.name}" must declare the nodeKind it serves`);
  return { ...spec, stability: spec.stability ?? 'alpha', [PLUGIN_MARK]: true };
}

export function isPluginDefinition(value: unknown): value is AnyPluginDefinition {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[PLUGIN_MARK] === true;
}
