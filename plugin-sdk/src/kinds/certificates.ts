import type { SecretValue } from '../secret.ts';
import type { Lifecycle } from './lifecycle.ts';

export type KeyType = 'ecdsa-p256' | 'rsa-2048' | 'rsa-3072' | 'rsa-4096';
export const KEY_TYPES: readonly KeyType[] = ['ecdsa-p256', 'rsa-2048', 'rsa-3072', 'rsa-4096'];

export interface CertificateRequest {
  /** Subject CN (at most 64 characters, X.509's limit). */
  readonly commonName: string;
  readonly dnsNames: readonly string[];
  /** URI SANs, e.g. the SPIFFE ID. */
  readonly uris: readonly string[];
  readonly validityMs: number;
  readonly keyType: KeyType;
}

export interface IssuedCertificate {
  /** The leaf certificate, PEM. */
  readonly certificatePem: string;
  /** Leaf followed by any intermediates, PEM. */
  readonly chainPem: string;
  readonly privateKey: SecretValue;
  /** The CA that signed this leaf, PEM. */
  readonly issuingCaPem: string;
  /** Every root peers should trust (two during a root rotation), PEM concatenated. */
  readonly trustBundlePem: string;
  /** Hex serial number. */
  readonly serialNumber: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export interface TrustBundle {
  /** PEM of every trusted root (the issuing one first). */
  readonly roots: readonly string[];
  /** Changes whenever the issuing CA changes (certificates then get re-issued). */
  readonly issuerId: string;
}

/**
 * Issues workload and bootstrap certificates. Errors are `TrellisError`s with code
 * `TRELLIS_ERR_CERT_ISSUE_FAILED` or `TRELLIS_ERR_CERT_PROVIDER_UNAVAILABLE` and say what failed. @public
 */
export interface CertificatesPlugin extends Lifecycle {
  issue(req: CertificateRequest): Promise<IssuedCertificate>;
  trustBundle(): Promise<TrustBundle>;
  /**
   * Signs a workload's own public key (the identity service: the private key never leaves the workload).
   * The names come from the request, never from the CSR, whose signature the caller has already verified.
   * Optional: a provider without it cannot serve the identity service.
   */
  sign?(req: SignRequest): Promise<SignedCertificate>;
}

/** A CSR-based issuance: the names and validity the controller decided, and the workload's public key. */
export interface SignRequest extends Omit<CertificateRequest, 'keyType'> {
  /** The verified PKCS#10 CSR, PEM (a provider that signs CSRs itself, such as Vault, passes it on). */
  readonly csrPem: string;
  /** The CSR's SubjectPublicKeyInfo, DER. */
  readonly publicKeyDer: Uint8Array;
}

/** An issued certificate without a private key (the workload holds it). */
export type SignedCertificate = Omit<IssuedCertificate, 'privateKey'>;
