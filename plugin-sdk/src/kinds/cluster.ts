import { createServiceRef } from '../services.ts';

/**
 * What a cluster source (the Kubernetes source) does for the core's sidecar injector and identity service:
 * they depend on these, never on a Kubernetes client, so the core stays free of API-server code paths and
 * universal mode never loads one.
 */

/** A pod's bootstrap Secret the injector writes before the pod is created (public material only: no key). */
export interface BootstrapSecret {
  readonly name: string;
  readonly namespace: string;
  /** File name -> content. */
  readonly data: Readonly<Record<string, string>>;
  /**
   * The Secret's owners (`metadata.ownerReferences`), so the garbage collector deletes it: the pod's controller
   * (its ReplicaSet, StatefulSet, Job...). The pod itself cannot be: at admission it has no uid yet.
   */
  readonly ownerReferences?: readonly { readonly apiVersion: string; readonly kind: string; readonly name: string; readonly uid: string }[];
}

/** Creates bootstrap Secrets (rejects when the API server refuses: the admission then refuses the pod). */
export interface BootstrapSecretWriter {
  write(secret: BootstrapSecret): Promise<void>;
}

/** Keeps the MutatingWebhookConfiguration's `caBundle` equal to the bundle the injector's certificate chains to. */
export interface CaBundleSink {
  update(caBundlePem: string): Promise<void>;
}

/** The API server's verdict on a ServiceAccount token (a TokenReview's status). */
export interface TokenReviewResult {
  readonly authenticated: boolean;
  readonly username?: string;
  readonly audiences?: readonly string[];
  readonly error?: string;
}

/** Sends a TokenReview; rejects when the API server cannot be asked (the identity request is then refused). */
export interface TokenReviewer {
  review(token: string, audiences: readonly string[]): Promise<TokenReviewResult>;
}

/** The services a cluster source provides (`provides` + `ctx.provide`); the core uses them when present. */
export const clusterServices = {
  bootstrapSecrets: createServiceRef<BootstrapSecretWriter>('core.injector.secretWriter'),
  webhookCaBundle: createServiceRef<CaBundleSink>('core.injector.caBundle'),
  tokenReviewer: createServiceRef<TokenReviewer>('core.identity.tokenReviewer'),
} as const;
