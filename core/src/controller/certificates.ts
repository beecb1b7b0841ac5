import type { CertificatesPlugin, EventBus, Identity, IssuedCertificate, Logger, Metrics } from '@trellis/plugin-sdk';
import { CertificateManager } from '../certs/index.ts';
import type { LoadedConfig } from '../config/load.ts';

/** What the controller needs from the certificate manager: a proxy identity's current workload certificate. */
export interface WorkloadCertificates {
  workload(identity: Identity): Promise<IssuedCertificate>;
  /** Whether `workload` would answer from the cache (no issuance). */
  hasWorkload(identity: Identity): boolean;
  /** No proxy of this identity is connected any more (its certificate may leave the cache). */
  release(identity: Identity): void;
}

/** The certificate manager the config file describes, for the controller and for CLI commands alike. */
export function certificateManagerFor(
  config: LoadedConfig,
  provider: CertificatesPlugin,
  deps: { bus: EventBus; logger: Logger; metrics: Metrics; workloadValidityMs?: () => number; evictUnusedAfterMs?: number },
): CertificateManager {
  const c = config.settings.certificates;
  return new CertificateManager({
    provider,
    bus: deps.bus,
    logger: deps.logger,
    metrics: deps.metrics,
    trustDomain: config.settings.mesh.trustDomain,
    validityMs: c.validity,
    ...(deps.workloadValidityMs ? { workloadValidityMs: deps.workloadValidityMs } : {}),
    ...(deps.evictUnusedAfterMs === undefined ? {} : { evictUnusedAfterMs: deps.evictUnusedAfterMs }),
    keyType: c.keyType,
    renewBefore: c.renewBefore,
    jitter: c.jitter,
  });
}
