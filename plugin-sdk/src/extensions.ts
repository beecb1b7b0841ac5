import type { CertificatesPlugin } from './kinds/certificates.ts';
import type { ObservabilityPlugin } from './kinds/observability.ts';
import type { ProxyPlugin } from './kinds/proxy.ts';
import type { SourcePlugin } from './kinds/source.ts';
import type { KubeObject } from './mesh/objects.ts';
import type { Tracer } from './tracing.ts';

/**
 * A typed slot plugins and core parts contribute to. `single` slots take exactly one contribution (a second is
 * a graph error); `multiple` slots collect every contribution, and when `keyOf` is given no two contributions
 * may share a key (two proxy backends claiming one node kind). The kernel checks all of this before anything
 * starts (`trellis validate`), and a part that consumes a slot starts after every contributor. @public
 */
export interface ExtensionPoint<T> {
  readonly id: string;
  readonly cardinality: 'single' | 'multiple';
  /** For single slots the core requires: the config path where a provider belongs (`plugins.certificates`). */
  readonly requiredAt?: string;
  /** What a contribution is keyed by, for messages (`node kind`). */
  readonly keyName?: string;
  /** The key of a contribution in a keyed slot. (A method, so points of any `T` widen to `ExtensionPoint<unknown>`.) */
  keyOf?(value: T): string;
  readonly __type?: T;
}

export function createExtensionPoint<T>(opts: {
  id: string;
  cardinality: 'single' | 'multiple';
  requiredAt?: string;
  keyName?: string;
  keyOf?: (value: T) => string;
}): ExtensionPoint<T> {
  return { ...opts };
}

/** A page under `/debug/<name>` (and `/debug/<name>/<id>` when `getOne` is given). Never include private keys. */
export interface DebugPage {
  readonly name: string;
  /** `query` is the request's query string (a repeated key gives an array); throw an error with `statusCode: 400` for bad input. */
  get(query?: Readonly<Record<string, string | readonly string[] | undefined>>): unknown;
  getOne?(id: string): unknown;
  /** Answers `POST /debug/<name>` with a JSON body (a dry run such as `policy diff`; never a change). */
  post?(body: unknown): unknown;
}

export interface AdminResponse {
  readonly status?: number;
  readonly body: unknown;
}

/** A JSON route on the admin server, mounted at `/plugins/<plugin instance>/<path>`. */
export interface AdminRoute {
  readonly method: 'GET' | 'POST';
  /** Relative to the plugin's prefix, e.g. `status` or `items/:id`. */
  readonly path: string;
  handler(req: { params: Readonly<Record<string, string>>; query: Readonly<Record<string, string>>; body: unknown }): AdminResponse | Promise<AdminResponse>;
}

/** Output of a CLI command. */
export interface CommandIo {
  out(text: string): void;
  err(text: string): void;
}

/**
 * A `trellis <name>` command a plugin ships. Commands are declared statically on the plugin (`commands`) so
 * `trellis --help` can list them without starting anything; `run` gets the plugin's decoded config.
 */
export interface CliCommand<C = unknown> {
  readonly name: string;
  readonly summary: string;
  readonly usage?: string;
  run(args: readonly string[], ctx: { readonly config: C; readonly baseDir: string; readonly io: CommandIo }): number | Promise<number>;
}

/** The verdict of a policy kind's validator on one object. */
export type PolicyVerdict = { readonly ok: true } | { readonly ok: false; readonly field: string; readonly reason: string };

/**
 * A policy kind a plugin adds to the mesh store: objects of `apiVersion`/`kind` are validated by `validate`
 * and then stored and listed like the built-in kinds (instead of being ignored as unknown).
 */
export interface PolicyKind {
  readonly apiVersion: string;
  readonly kind: string;
  /** Whether objects of this kind live in a namespace. */
  readonly namespaced: boolean;
  validate(obj: KubeObject): PolicyVerdict;
}

/** The accepted objects of plugin policy kinds, for the plugins that act on them (`coreServices.policies`). */
export interface PolicyObjects {
  /** Accepted objects of `apiVersion`/`kind` (an invalid update keeps the last good version). */
  list(apiVersion: string, kind: string): readonly KubeObject[];
  /** Called with every accepted object of that kind after each change; returns an unsubscribe function. */
  onChange(apiVersion: string, kind: string, handler: (objs: readonly KubeObject[]) => void): () => void;
  /** The policy kinds plugins contribute (a source watching an API server watches them too). */
  kinds?(): readonly PolicyKind[];
}

/** The extension points of the core. Plugins contribute to them; the kernel wires the contributions. @public */
export const extensionPoints = {
  /** Single: issues certificates. Filled by the `certificates` plugin. */
  certificateProvider: createExtensionPoint<CertificatesPlugin>({ id: 'core.certificateProvider', cardinality: 'single', requiredAt: 'plugins.certificates' }),
  /** Multiple: sources of mesh objects. Filled by `source` plugins. */
  sources: createExtensionPoint<SourcePlugin>({ id: 'core.sources', cardinality: 'multiple' }),
  /** Multiple, keyed by node kind: proxy backends. Filled by `proxy` plugins. */
  proxyBackends: createExtensionPoint<ProxyPlugin>({ id: 'core.proxyBackends', cardinality: 'multiple', keyName: 'node kind', keyOf: (p) => p.nodeKind }),
  /** Multiple: telemetry exporters. Filled by `observability` plugins. */
  exporters: createExtensionPoint<ObservabilityPlugin>({ id: 'core.exporters', cardinality: 'multiple' }),
  /** Multiple, keyed by path: JSON routes on the admin server. */
  adminRoutes: createExtensionPoint<AdminRoute>({ id: 'core.adminRoutes', cardinality: 'multiple', keyName: 'route', keyOf: (r) => `${r.method} ${r.path}` }),
  /** Multiple, keyed by name: pages under `/debug/`. */
  debugPages: createExtensionPoint<DebugPage>({ id: 'core.debugPages', cardinality: 'multiple', keyName: 'page', keyOf: (p) => p.name }),
  /** Multiple, keyed by name: `trellis <name>` commands (declared with `commands` on the plugin). */
  cliCommands: createExtensionPoint<CliCommand>({ id: 'core.cliCommands', cardinality: 'multiple', keyName: 'command', keyOf: (c) => c.name }),
  /** Multiple: tracers the core reports config changes to (none: nothing is recorded). Filled by observability plugins (`extends`). */
  tracers: createExtensionPoint<Tracer>({ id: 'core.tracers', cardinality: 'multiple' }),
  /** Multiple, keyed by `apiVersion/kind`: policy kinds the store accepts. */
  policyKinds: createExtensionPoint<PolicyKind>({ id: 'core.policyKinds', cardinality: 'multiple', keyName: 'kind', keyOf: (k) => `${k.apiVersion}/${k.kind}` }),
} as const;
