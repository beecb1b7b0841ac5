import { clusterServices, type BootstrapSecretWriter, type Logger, type Metrics } from '@trellis/plugin-sdk';
import type { CertificateManager } from '../certs/index.ts';
import type { LoadedConfig } from '../config/load.ts';
import type { ServiceContainer } from '../kernel/container.ts';
import type { MeshSettingsService } from '../settings/index.ts';
import { PodInjector } from './admission.ts';
import { InjectorServer } from './server.ts';

/** Keeps the MutatingWebhookConfiguration's `caBundle` current (the Kubernetes source provides it). */
export type { CaBundleSink } from '@trellis/plugin-sdk';

/** What the Kubernetes source provides for the injector (the SDK's `clusterServices`, by their injector names). */
export const injectorRefs = {
  secretWriter: clusterServices.bootstrapSecrets,
  caBundle: clusterServices.webhookCaBundle,
};

export interface RunningInjector {
  readonly server: InjectorServer;
  readonly injector: PodInjector;
  /** Re-reads the serving certificate (after a rotation) and pushes the CA bundle. */
  refresh(): Promise<void>;
}

/** The injector as the controller runs it; `undefined` when `injector.address` is unset. */
export async function startInjector(deps: {
  config: LoadedConfig;
  manager: CertificateManager;
  settings: MeshSettingsService;
  container: ServiceContainer;
  logger: Logger;
  metrics: Metrics;
}): Promise<RunningInjector | undefined> {
  const c = deps.config.settings.injector;
  if (!c.address) return undefined;
  const names = [c.serviceName, 'localhost'];
  const { container, logger } = deps;
  const secrets: BootstrapSecretWriter = {
    write: (s) =>
      container.has(injectorRefs.secretWriter)
        ? container.resolve(injectorRefs.secretWriter).write(s)
        : Promise.reject(new Error('no Kubernetes source is configured to write bootstrap Secrets')),
  };
  let bundle = (await deps.manager.server(names)).trustBundlePem;
  const injector = new PodInjector({
    settings: {
      envoyImage: c.envoyImage,
      trellisImage: c.trellisImage,
      xdsAddress: c.xdsAddress,
      ...(c.grpcXdsAddress ? { grpcXdsAddress: c.grpcXdsAddress } : {}),
      identityAddress: c.identityAddress,
      audience: deps.config.settings.identity.serviceAccountAudience ?? 'trellis',
      trustDomain: () => deps.settings.trustDomain(),
      trustBundle: () => bundle,
    },
    secrets,
    logger,
    metrics: deps.metrics,
  });
  const cert = await deps.manager.server(names);
  const server = new InjectorServer({ address: c.address, tls: { certPem: cert.chainPem, keyPem: cert.privateKey.reveal() }, injector, logger });
  await server.start();
  const pushBundle = async () => {
    if (!container.has(injectorRefs.caBundle)) return;
    await container
      .resolve(injectorRefs.caBundle)
      .update(bundle)
      .catch((err: unknown) => logger.warn('updating the webhook caBundle failed', { error: (err as Error).message }));
  };
  await pushBundle();
  return {
    server,
    injector,
    async refresh() {
      const now = await deps.manager.server(names);
      server.updateTls({ certPem: now.chainPem, keyPem: now.privateKey.reveal() });
      bundle = now.trustBundlePem;
      await pushBundle();
    },
  };
}
