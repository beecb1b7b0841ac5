import type { Identity, IssuedCertificate } from '@trellis/plugin-sdk';

/** What the controller needs from the certificate manager: a proxy identity's current workload certificate. */
export interface WorkloadCertificates {
  workload(identity: Identity): Promise<IssuedCertificate>;
}
