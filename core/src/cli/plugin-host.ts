import type { CertificatesPlugin, Logger, ProxyPlugin } from '@trellis/plugin-sdk';
import type { ConfiguredPlugin, LoadedConfig } from '../config/load.ts';
import { Bus } from '../bus/bus.ts';
import type { CertificateManager } from '../certs/index.ts';
import { certificateManagerFor } from '../controller/certificates.ts';
import { MetricsRegistry } from '../metrics/registry.ts';
import { createResourceFactory } from '../xds/index.ts';

/**
 * For CLI commands that need one or two plugins without a whole controller (bootstrap, agent): creates and
 * starts them with the same context the controller gives them.
 */
async function instantiate<T>(cp: ConfiguredPlugin, config: LoadedConfig, logger: Logger): Promise<T> {
  const instance = (await cp.definition.create({
    config: cp.config,
    deps: {},
    logger: logger.child({ plugin: cp.instanceName }),
    mesh: { name: config.settings.mesh.name, trustDomain: config.settings.mesh.trustDomain },
    baseDir: config.baseDir,
    resources: createResourceFactory(),
    sink: undefined as never,
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

/** The configured certificate provider behind a CertificateManager, as the controller would build it. */
export async function openCertificates(config: LoadedConfig, logger: Logger): Promise<CertificatesHandle> {
  const cp = config.plugins.find((p) => p.kind === 'certificates');
  if (!cp) throw new Error('the config has no certificates plugin');
  const provider = await instantiate<CertificatesPlugin>(cp, config, logger);
  const metrics = new MetricsRegistry();
  const bus = new Bus(logger, metrics);
  const manager = certificateManagerFor(config, provider, { bus, logger, metrics });
  await manager.start();
  return {
    manager,
    provider,
    bus,
    close: async () => {
      manager.stop();
      await provider.stop?.();
    },
  };
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
