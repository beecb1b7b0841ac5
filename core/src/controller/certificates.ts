import type { CertificatesPlugin, EventBus, Identity, IssuedCertificate, Logger, Metrics } from '@trellis/plugin-sdk';
import { CertificateManager } from '../certs/index.ts';
import type { LoadedConfig } from '../config/load.ts';

/** What the controller needs from the certificate manager: a proxy identity's current workload certificate. */
export interface WorkloadCertificates {
  workload(identity: Identity): Promise<IssuedCertificate>;
}

/** The certificate manager the config file describes, for the controller and for CLI commands alike. */
export function certificateManagerFor(
  config: LoadedConfig,
  provider: CertificatesPlugin,
  deps: { bus: EventBus; logger: Logger; metrics: Metrics; workloadValidityMs?: () => number },
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
    keyType: c.keyType,
    renewBefore: c.renewBefore,
    jitter: c.jitter,
  });
}
