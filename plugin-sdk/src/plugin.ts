import type { CertificatesPlugin } from './kinds/certificates.ts';
import type { ObservabilityPlugin } from './kinds/observability.ts';
import type { ProxyPlugin } from './kinds/proxy.ts';
import type { SourcePlugin, SourceSink } from './kinds/source.ts';
import type { Logger } from './logger.ts';
import type { Schema } from './schema.ts';
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

/** Capabilities the core hands to a plugin of each kind, besides its declared dependencies. */
export interface KindCapabilities {
  source: { readonly sink: SourceSink };
  proxy: { readonly resources: XdsResourceFactory };
  certificates: Record<never, never>;
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
} & KindCapabilities[K];

export interface PluginSpec<K extends PluginKind, C, D extends Deps> {
  /** The `use:` name for built-ins, and the name in logs and metrics. */
  readonly name: string;
  readonly kind: K;
  readonly version: string;
  /** Semver range of `@trellis/core` versions this plugin works with, e.g. `^0.1.0`. */
  readonly coreRange: string;
  readonly stability?: Stability;
  readonly description?: string;
  readonly configSchema?: Schema<C>;
  readonly deps?: D;
  create(ctx: CreateContext<K, C, D>): PluginInstances[K] | Promise<PluginInstances[K]>;
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
  return { ...spec, stability: spec.stability ?? 'alpha', [PLUGIN_MARK]: true };
}

export function isPluginDefinition(value: unknown): value is AnyPluginDefinition {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[PLUGIN_MARK] === true;
}
