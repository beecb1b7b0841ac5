import type { CertificatesPlugin, Logger, ProxyPlugin, Readiness, SourceSink } from '@trellis/plugin-sdk';
import type { ConfiguredPlugin, LoadedConfig } from '../config/load.ts';
import { Bus } from '../bus/bus.ts';
import type { CertificateManager } from '../certs/index.ts';
import { certificateManagerFor, reissueOnTrustDomainChange } from '../controller/certificates.ts';
import { MetricsRegistry } from '../metrics/registry.ts';
import { meshSettingsFor, type MeshSettingsService } from '../settings/index.ts';
import { MeshStore } from '../store/index.ts';
import { createResourceFactory } from '../xds/index.ts';

/**
 * For CLI commands that need one or two plugins without a whole controller (bootstrap, agent): creates and
 * starts them with the same context the controller gives them.
 */
async function instantiate<T>(cp: ConfiguredPlugin, config: LoadedConfig, logger: Logger, sink?: SourceSink): Promise<T> {
  const instance = (await cp.definition.create({
    config: cp.config,
    deps: {},
    logger: logger.child({ plugin: cp.instanceName }),
    mesh: { name: config.settings.mesh.name, trustDomain: config.settings.mesh.trustDomain },
    baseDir: config.baseDir,
    resources: createResourceFactory(),
    sink: sink ?? (undefined as never),
    // A CLI command runs one plugin alone: nobody consumes what it would provide or contribute.
    provide: () => undefined,
    extend: () => undefined,
    // CLI commands use the controller's state and never create it (no silent new root CA).
    createState: false,
  })) as T & { start?: () => unknown };
  await instance.start?.();
  return instance;
}

export interface CertificatesHandle {
  readonly manager: CertificateManager;
  readonly provider: CertificatesPlugin;
  /** Where the manager publishes `certificateRotated`. */
  readonly bus: Bus;
  close(): Promise<void>;
}

/**
 * The configured certificate provider behind a CertificateManager, as the controller would build it: the
 * trust domain and workload validity come from `settings` (a MeshConfig's, else the config file's), and a
 * trust-domain change re-issues the workload certificates.
 */
export async function openCertificates(config: LoadedConfig, logger: Logger, settings?: MeshSettingsService): Promise<CertificatesHandle> {
  const cp = config.plugins.find((p) => p.kind === 'certificates');
  if (!cp) throw new Error('the config has no certificates plugin');
  const provider = await instantiate<CertificatesPlugin>(cp, config, logger);
  const metrics = new MetricsRegistry();
  const bus = new Bus(logger, metrics);
  const manager = certificateManagerFor(config, provider, { bus, logger, metrics, ...(settings ? { settings } : {}) });
  const unfollow = settings ? reissueOnTrustDomainChange(settings, manager, logger) : () => {};
  await manager.start();
  return {
    manager,
    provider,
    bus,
    close: async () => {
      unfollow();
      manager.stop();
      await provider.stop?.();
    },
  };
}

export interface MeshSettingsHandle {
  readonly settings: MeshSettingsService;
  /** Stops the sources (the settings then stay as last read). */
  close(): Promise<void>;
}

/**
 * The mesh settings exactly as the controller computes them: the config's sources are started into a store of
 * our own so a MeshConfig's trust domain reaches what the CLI issues (bootstrap node ids, workload
 * certificates). Waits for every source's first full sync; one that does not sync within `waitMs` is an error
 * (its MeshConfig could name another trust domain). While open, the sources keep watching (the agent).
 */
export async function openMeshSettings(config: LoadedConfig, logger: Logger, waitMs = 10_000): Promise<MeshSettingsHandle> {
  const metrics = new MetricsRegistry();
  const store = new MeshStore({ bus: new Bus(logger, metrics), logger, metrics });
  const settings = meshSettingsFor(config, store);
  const started: { name: string; instance: { stop?: () => unknown; readiness?: () => Readiness } }[] = [];
  const close = async () => {
    for (const s of started.splice(0).reverse()) await s.instance.stop?.();
  };
  try {
    for (const cp of config.plugins.filter((p) => p.kind === 'source'))
      started.push({ name: cp.instanceName, instance: await instantiate(cp, config, logger, store.sinkFor(cp.instanceName)) });
    const deadline = Date.now() + waitMs;
    for (const s of started) {
      let r = s.instance.readiness?.() ?? { ready: true };
      while (!r.ready && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        r = s.instance.readiness?.() ?? { ready: true };
      }
      if (!r.ready) throw new Error(`source "${s.name}" did not sync within ${waitMs} ms (${r.reason ?? 'not ready'}): the trust domain a MeshConfig sets is unknown`);
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { settings, close };
}

/** The proxy backend configured under `name` (`envoy`, `grpc`, or an instance name). */
export async function openProxyBackend(config: LoadedConfig, name: string, logger: Logger): Promise<ProxyPlugin> {
  const cp = config.plugins.find((p) => p.kind === 'proxy' && (p.instanceName === name || p.use === name || p.definition.name === name));
  if (!cp) {
    const have = config.plugins.filter((p) => p.kind === 'proxy').map((p) => p.instanceName);
    throw new Error(`no proxy backend "${name}" in ${config.file} (configured: ${have.join(', ') || 'none'})`);
  }
  return instantiate<ProxyPlugin>(cp, config, logger);
}
