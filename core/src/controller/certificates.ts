import type { CertificatesPlugin, EventBus, Identity, IssuedCertificate, Logger, Metrics } from '@trellis/plugin-sdk';
import { CertificateManager } from '../certs/index.ts';
import type { LoadedConfig } from '../config/load.ts';
import type { MeshSettingsService } from '../settings/index.ts';

/** What the controller needs from the certificate manager: a proxy identity's current workload certificate. */
export interface WorkloadCertificates {
  workload(identity: Identity): Promise<IssuedCertificate>;
  /** Whether `workload` would answer from the cache (no issuance). */
  hasWorkload(identity: Identity): boolean;
  /** No proxy of this identity is connected any more (its certificate may leave the cache). */
  release(identity: Identity): void;
}

/**
 * The certificate manager the config file describes, for the controller and for CLI commands alike. The
 * controller passes its mesh settings service so the trust domain and workload validity follow the MeshConfig.
 */
export function certificateManagerFor(
  config: LoadedConfig,
  provider: CertificatesPlugin,
  deps: { bus: EventBus; logger: Logger; metrics: Metrics; settings?: MeshSettingsService; evictUnusedAfterMs?: number },
): CertificateManager {
  const c = config.settings.certificates;
  const settings = deps.settings;
  return new CertificateManager({
    provider,
    bus: deps.bus,
    logger: deps.logger,
    metrics: deps.metrics,
    trustDomain: settings ? () => settings.trustDomain() : config.settings.mesh.trustDomain,
    validityMs: c.validity,
    // A MeshConfig's serviceCertValidityDuration wins over the config file (OSM's knob).
    ...(settings ? { workloadValidityMs: () => settings.current().serviceCertValidityMs } : {}),
    ...(deps.evictUnusedAfterMs === undefined ? {} : { evictUnusedAfterMs: deps.evictUnusedAfterMs }),
    keyType: c.keyType,
    renewBefore: c.renewBefore,
    jitter: c.jitter,
  });
}

/**
 * A trust-domain change is mesh-wide: every workload certificate names the domain, so all are re-issued
 * (each publishes `certificateRotated`, which rebuilds that identity's SDS secrets). Returns the unsubscribe.
 */
export function reissueOnTrustDomainChange(settings: MeshSettingsService, certs: CertificateManager, logger: Logger): () => void {
  return settings.onChange((c) => {
    if (!c.trustDomainChanged) return;
    logger.warn('trust domain changed: re-issuing every workload certificate (disruptive: see docs/certificates.md)', { from: c.before.trustDomain, to: c.after.trustDomain });
    certs.reissueWorkloads().catch((err: unknown) => logger.error('re-issuing workload certificates failed', { error: (err as Error).message }));
  });
}
