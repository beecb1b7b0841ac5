import { identityKey, parseIdentityKey, type Identity, type TokenReviewer } from '@trellis/plugin-sdk';
import type { JoinTokenStore } from './join-tokens.ts';

/** What a request to the identity service presented: a bearer credential and/or a verified TLS client certificate. */
export interface Credentials {
  readonly bearer?: string;
  /** URI SANs of a client certificate that verified against the mesh's trust bundle (TLS checked chain and expiry). */
  readonly certificateUris?: readonly string[];
}

export type AuthMethod = 'join-token' | 'certificate' | 'serviceaccount-token';

export type AuthResult =
  | { readonly ok: true; readonly identity: Identity; readonly method: AuthMethod }
  /** `proven` is the identity the credential does prove, when it proves one (never a secret). */
  | { readonly ok: false; readonly method: AuthMethod | 'none'; readonly reason: string; readonly proven?: string };

/** Checks one kind of credential; `undefined` when the request carries none of its kind. */
export interface Authenticator {
  authenticate(creds: Credentials, wanted: Identity): Promise<AuthResult | undefined>;
}

/** Universal mode's first request: an operator-issued join token (single use, expiring, one identity). */
export function joinTokenAuthenticator(store: JoinTokenStore): Authenticator {
  return {
    async authenticate(creds, wanted) {
      if (!creds.bearer?.startsWith('trellis-join.')) return undefined;
      const r = await store.consume(creds.bearer, wanted);
      if (r.ok) return { ok: true, identity: r.identity, method: 'join-token' };
      return { ok: false, method: 'join-token', reason: `join token ${r.id ?? '(malformed)'}: ${r.reason}`, ...(r.tokenIdentity ? { proven: r.tokenIdentity } : {}) };
    },
  };
}

/** Renewals: the workload's current certificate, whose SPIFFE ID names its identity in a trust domain the mesh serves. */
export function certificateAuthenticator(trustDomains: () => readonly string[]): Authenticator {
  return {
    async authenticate(creds, wanted) {
      if (creds.bearer !== undefined || !creds.certificateUris) return undefined;
      const ids = creds.certificateUris.flatMap((u) => {
        const m = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(u);
        const identity = m?.[2] && m[3] ? parseIdentityKey(`${m[2]}/${m[3]}`) : undefined;
        return m?.[1] && identity ? [{ td: m[1], identity }] : [];
      });
      const first = ids[0];
      if (!first || ids.length !== 1) return { ok: false, method: 'certificate', reason: 'the client certificate must carry exactly one SPIFFE ID' };
      if (!trustDomains().includes(first.td))
        return { ok: false, method: 'certificate', reason: `trust domain "${first.td}" is not one this mesh serves`, proven: identityKey(first.identity) };
      if (identityKey(first.identity) !== identityKey(wanted))
        return { ok: false, method: 'certificate', reason: 'the certificate proves another identity', proven: identityKey(first.identity) };
      return { ok: true, identity: first.identity, method: 'certificate' };
    },
  };
}

/** The TokenReview call (the Kubernetes API): `@kubernetes/client-node`'s AuthenticationV1Api in production. */
export type { TokenReviewer } from '@trellis/plugin-sdk';

/**
 * Kubernetes mode: the pod's projected, audience-bound ServiceAccount token, checked by a TokenReview. Any
 * failure of the review (API unreachable, error, unauthenticated, wrong audience) refuses the request.
 */
export function serviceAccountTokenAuthenticator(reviewer: TokenReviewer, audience: string): Authenticator {
  return {
    async authenticate(creds, wanted) {
      if (creds.bearer === undefined || creds.bearer.startsWith('trellis-join.')) return undefined;
      let r: Awaited<ReturnType<TokenReviewer['review']>>;
      try {
        r = await reviewer.review(creds.bearer, [audience]);
      } catch (err) {
        return { ok: false, method: 'serviceaccount-token', reason: `TokenReview failed: ${(err as Error).message}` };
      }
      if (!r.authenticated) return { ok: false, method: 'serviceaccount-token', reason: `TokenReview: not authenticated${r.error ? ` (${r.error})` : ''}` };
      if (r.audiences && !r.audiences.includes(audience)) return { ok: false, method: 'serviceaccount-token', reason: `TokenReview: token not bound to audience "${audience}"` };
      const m = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(r.username ?? '');
      const identity = m?.[1] && m[2] ? parseIdentityKey(`${m[1]}/${m[2]}`) : undefined;
      if (!identity) return { ok: false, method: 'serviceaccount-token', reason: `TokenReview: "${r.username ?? ''}" is not a ServiceAccount` };
      if (identityKey(identity) !== identityKey(wanted))
        return { ok: false, method: 'serviceaccount-token', reason: 'the token proves another identity', proven: identityKey(identity) };
      return { ok: true, identity, method: 'serviceaccount-token' };
    },
  };
}
