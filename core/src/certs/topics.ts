import { defineTopic, type Identity } from '@trellis/plugin-sdk';

export type CertificateKind = 'workload' | 'bootstrap' | 'server';

export interface CertificateRotated {
  readonly identity?: Identity;
  readonly kind: CertificateKind;
  /** Cache key of the certificate: `workload:ns/sa`, `bootstrap:<node id>` or `server:<dns,...>`. */
  readonly key: string;
  readonly serialNumber: string;
  readonly notAfter: Date;
}

/** Published after a cached certificate was replaced (expiry or issuer change): becomes SDS pushes / agent rewrites. */
export const certificateRotated = defineTopic<CertificateRotated>('certificates.rotated');
