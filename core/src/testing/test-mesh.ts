import { resolve } from 'node:path';
import { ErrorCodes, formatPath, type KubeObject, type ObjectKey } from '@trellis/plugin-sdk';
import { ConfigError, type ConfiguredPlugin, type LoadedConfig } from '../config/load.ts';
import { configSchema } from '../config/schema.ts';
import { defaultParts } from '../controller/parts.ts';
import { silentLogger } from '../kernel/logger.ts';
import { startMesh } from '../kernel/mesh.ts';
import type { TestMeshOptions, TestMesh } from '@trellis/plugin-sdk/testing';

const KIND_SECTION = { source: 'sources', proxy: 'proxies', certificates: 'certificates', observability: 'observability' } as const;

/** The core side of the SDK's `startTestMesh`: a real mesh from plugin definitions instead of a file. */
export async function startTestMesh(opts: TestMeshOptions): Promise<TestMesh> {
  const baseDir = resolve(opts.baseDir ?? process.cwd());
  const settingsDoc = {
    xds: { address: '127.0.0.1:0' },
    ...opts.settings,
    plugins: {},
  };
  const decoded = configSchema.parse(settingsDoc, [], { baseDir });
  if (!decoded.ok) throw new ConfigError('<test mesh>', decoded.issues.map((i) => ({ code: ErrorCodes.CONFIG_INVALID, path: formatPath(i.path), message: i.message })));
  const counters: Record<string, number> = {};
  const plugins: ConfiguredPlugin[] = opts.plugins.map(({ definition, config, name }) => {
    const section = KIND_SECTION[definition.kind];
    const i = (counters[section] = (counters[section] ?? -1) + 1);
    const path = `plugins.${section}[${i}]`;
    let cfg: unknown = config;
    if (definition.configSchema) {
      const r = definition.configSchema.parse(config, [], { baseDir });
      if (!r.ok)
        throw new ConfigError('<test mesh>', r.issues.map((x) => ({ code: ErrorCodes.PLUGIN_CONFIG_INVALID, path: `${path}.config.${formatPath(x.path)}`, message: x.message })));
      cfg = r.value;
    }
    return { kind: definition.kind, instanceName: name ?? definition.name, path, use: definition.name, definition, config: cfg };
  });
  const config: LoadedConfig = { file: '<test mesh>', baseDir, settings: decoded.value, plugins, secretPaths: [], document: settingsDoc };
  const mesh = await startMesh({ config, parts: defaultParts, logger: silentLogger(), adminAddress: '127.0.0.1:0' });
  const sink = mesh.sink('test');
  for (const obj of opts.objects ?? []) sink.apply(obj);
  const adminUrl = mesh.adminUrl ?? '';
  return {
    adminUrl,
    async getJson<T>(path: string, o: { allowError?: boolean } = {}) {
      const res = await fetch(`${adminUrl}${path}`);
      const body = (await res.json()) as T;
      if (!res.ok && !o.allowError) throw new Error(`GET ${path}: ${res.status} ${JSON.stringify(body)}`);
      return { status: res.status, body };
    },
    apply: (obj: KubeObject) => sink.apply(obj),
    delete: (key: ObjectKey) => sink.delete(key),
    instance: <T>(name: string) => mesh.instance<T>(name),
    resolve: (ref) => mesh.container.resolve(ref),
    ready: () => mesh.ready(),
    stop: () => mesh.stop(),
  };
}
