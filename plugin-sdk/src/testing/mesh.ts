import type { KubeObject, ObjectKey } from '../mesh/objects.ts';
import type { AnyPluginDefinition } from '../plugin.ts';
import type { ServiceRef } from '../services.ts';

export interface TestMeshOptions {
  /** Plugins to run, with their raw `config` blocks (decoded by their schemas, as from a config file). */
  readonly plugins: readonly { definition: AnyPluginDefinition; config?: unknown; name?: string }[];
  /** Objects applied to the mesh store once started (through a source named `test`). */
  readonly objects?: readonly KubeObject[];
  /** Other config-file sections (`mesh`, `xds`, `certificates`, ...), as in YAML. */
  readonly settings?: Readonly<Record<string, unknown>>;
  /** Directory relative plugin paths resolve against (default: the current directory). */
  readonly baseDir?: string;
}

export interface TestMesh {
  /** `http://127.0.0.1:<port>` of the admin API (bound to a free port). */
  readonly adminUrl: string;
  /** GET a path on the admin API and parse JSON (throws on a non-2xx status unless `allowError`). */
  getJson<T = unknown>(path: string, opts?: { allowError?: boolean }): Promise<{ status: number; body: T }>;
  apply(obj: KubeObject): void;
  delete(key: ObjectKey): void;
  instance<T = unknown>(name: string): T | undefined;
  /** A service from the mesh's container (core services, or the core's own refs such as its controller). */
  resolve<T>(ref: ServiceRef<T>): T;
  ready(): boolean;
  stop(): Promise<void>;
}

/**
 * Starts a whole mesh (the real core) with the given plugins, in one call. The admin API listens on a free
 * loopback port; xDS listeners default to free ports too. Always `await mesh.stop()` in `afterEach`.
 */
export async function startTestMesh(opts: TestMeshOptions): Promise<TestMesh> {
  // A computed specifier: the SDK must not depend on the core at build time (the core depends on the SDK).
  const specifier = '@trellis/core';
  const core = (await import(specifier)) as { startTestMesh(o: TestMeshOptions): Promise<TestMesh> };
  return core.startTestMesh(opts);
}
