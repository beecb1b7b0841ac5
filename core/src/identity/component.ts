import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { clusterServices, CONTROLLER_SERVER_NAME, type CertificatesPlugin, type IssuedCertificate, type Logger, type Metrics } from '@trellis/plugin-sdk';
import type { CertificateManager } from '../certs/index.ts';
import type { LoadedConfig } from '../config/load.ts';
import type { ServiceContainer } from '../kernel/container.ts';
import type { MeshSettingsService } from '../settings/index.ts';
import { certificateAuthenticator, joinTokenAuthenticator, serviceAccountTokenAuthenticator, type Authenticator, type TokenReviewer } from './authenticators.ts';
import { JoinTokenStore } from './join-tokens.ts';
import { IdentityServer, type ServingTls } from './server.ts';
import { IdentityService } from './service.ts';

/** DNS names on the identity service's serving certificate (the ADS names: one controller identity). */
export const IDENTITY_SERVER_NAMES = [CONTROLLER_SERVER_NAME, 'localhost'];

export const servingTlsOf = (c: IssuedCertificate): ServingTls => ({ certPem: c.chainPem, keyPem: c.privateKey.reveal(), caPem: c.trustBundlePem });

/** The config's join-token directory, resolved against the config file. */
export function joinTokenStoreFor(config: LoadedConfig): JoinTokenStore {
  return new JoinTokenStore(resolve(config.baseDir, config.settings.identity.tokenDir));
}

/** Where the controller publishes the mesh's trust bundle (public) for operators handing it to workloads. */
export function trustBundleFile(config: LoadedConfig): string {
  return join(joinTokenStoreFor(config).dir, 'trust-bundle.pem');
}

/** Writes the trust bundle beside the token store (mode 0644 file in the 0700 directory: the operator's copy). */
export async function writeTrustBundle(config: LoadedConfig, pem: string): Promise<void> {
  const dir = joinTokenStoreFor(config).dir;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  await writeFile(join(dir, 'trust-bundle.pem'), pem, { mode: 0o644 });
}

/** The identity service as the controller runs it; `undefined` when `identity.address` is unset. */
export async function startIdentityService(deps: {
  config: LoadedConfig;
  provider: CertificatesPlugin;
  manager: CertificateManager;
  settings: MeshSettingsService;
  logger: Logger;
  metrics: Metrics;
  /** Where a cluster source provides its TokenReview (`clusterServices.tokenReviewer`). */
  container?: ServiceContainer;
  /** Kubernetes mode's TokenReview (default: the Kubernetes source's, else the in-cluster or default kubeconfig). */
  tokenReviewer?: TokenReviewer;
}): Promise<{ service: IdentityService; server: IdentityServer } | undefined> {
  const c = deps.config.settings.identity;
  if (!c.address) return undefined;
  const authenticators: Authenticator[] = [joinTokenAuthenticator(joinTokenStoreFor(deps.config)), certificateAuthenticator(() => deps.settings.trustDomains())];
  if (c.serviceAccountAudience) {
    // Loaded only in Kubernetes mode: the client library is large and universal mode never needs it.
    const provided = deps.container?.has(clusterServices.tokenReviewer) ? deps.container.resolve(clusterServices.tokenReviewer) : undefined;
    const reviewer = deps.tokenReviewer ?? provided ?? (await import('./token-review.ts')).kubernetesTokenReviewer();
    authenticators.push(serviceAccountTokenAuthenticator(reviewer, c.serviceAccountAudience));
  }
  const service = new IdentityService({
    provider: deps.provider,
    authenticators,
    trustDomain: () => deps.settings.trustDomain(),
    workloadValidityMs: () => deps.settings.current().serviceCertValidityMs,
    bootstrapValidityMs: () => deps.config.settings.certificates.validity,
    logger: deps.logger,
    metrics: deps.metrics,
  });
  const serving = await deps.manager.server(IDENTITY_SERVER_NAMES);
  const server = new IdentityServer({ address: c.address, tls: servingTlsOf(serving), service, logger: deps.logger });
  await server.start();
  await writeTrustBundle(deps.config, serving.trustBundlePem);
  return { service, server };
}
