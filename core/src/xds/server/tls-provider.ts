import type { experimental } from '@grpc/grpc-js';
import { SecretValue } from '@trellis/plugin-sdk';

type CaListener = experimental.CaCertificateUpdateListener;
type IdentityListener = experimental.IdentityCertificateUpdateListener;

export interface ServingTls {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string | SecretValue;
}

/**
 * The ADS listener's certificate and client-CA as a grpc-js certificate provider, so a rotated serving
 * certificate or a new trust bundle (root rotation) applies to new connections without restarting the server.
 */
export class ServingCertificateProvider implements experimental.CertificateProvider {
  #ca: Buffer;
  #identity: { certificate: Buffer; privateKey: Buffer };
  readonly #caListeners = new Set<CaListener>();
  readonly #identityListeners = new Set<IdentityListener>();

  constructor(tls: ServingTls) {
    this.#ca = Buffer.from(tls.caPem);
    this.#identity = this.#toIdentity(tls);
  }

  update(tls: ServingTls): void {
    this.#ca = Buffer.from(tls.caPem);
    this.#identity = this.#toIdentity(tls);
    for (const l of this.#caListeners) l({ caCertificate: this.#ca });
    for (const l of this.#identityListeners) l(this.#identity);
  }

  // grpc-js registers its own watcher only after adding these listeners, so the first value is delivered
  // asynchronously (as its file-watcher provider does) or grpc-js would miss it.
  addCaCertificateListener(listener: CaListener): void {
    this.#caListeners.add(listener);
    queueMicrotask(() => this.#caListeners.has(listener) && listener({ caCertificate: this.#ca }));
  }
  removeCaCertificateListener(listener: CaListener): void {
    this.#caListeners.delete(listener);
  }
  addIdentityCertificateListener(listener: IdentityListener): void {
    this.#identityListeners.add(listener);
    queueMicrotask(() => this.#identityListeners.has(listener) && listener(this.#identity));
  }
  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.#identityListeners.delete(listener);
  }

  #toIdentity(tls: ServingTls): { certificate: Buffer; privateKey: Buffer } {
    const key = tls.keyPem instanceof SecretValue ? tls.keyPem.reveal() : tls.keyPem;
    return { certificate: Buffer.from(tls.certPem), privateKey: Buffer.from(key) };
  }
}
