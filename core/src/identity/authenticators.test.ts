import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { certificateAuthenticator, serviceAccountTokenAuthenticator, type TokenReviewer } from './authenticators.ts';
import { JoinTokenStore } from './join-tokens.ts';
import { tokenReviewerFor } from './token-review.ts';

const cart = { namespace: 'shop', serviceAccount: 'cart' };
const checkout = { namespace: 'shop', serviceAccount: 'checkout' };

describe('serviceAccountTokenAuthenticator (Kubernetes mode)', () => {
  const reviewer = (r: Awaited<ReturnType<TokenReviewer['review']>> | Error): TokenReviewer & { asked: unknown[] } => {
    const asked: unknown[] = [];
    return {
      asked,
      review: async (token, audiences) => {
        asked.push({ token, audiences });
        if (r instanceof Error) throw r;
        return r;
      },
    };
  };

  it('accepts the ServiceAccount the review names, asking for the configured audience', async () => {
    const rv = reviewer({ authenticated: true, username: 'system:serviceaccount:shop:cart', audiences: ['trellis'] });
    expect(await serviceAccountTokenAuthenticator(rv, 'trellis').authenticate({ bearer: 'jwt' }, cart)).toEqual({ ok: true, identity: cart, method: 'serviceaccount-token' });
    expect(rv.asked).toEqual([{ token: 'jwt', audiences: ['trellis'] }]);
  });

  it('refuses another identity than the token proves, a failed review, an unauthenticated token, a wrong audience, a user', async () => {
    const auth = (r: Parameters<typeof reviewer>[0]) => serviceAccountTokenAuthenticator(reviewer(r), 'trellis').authenticate({ bearer: 'jwt' }, checkout);
    expect(await auth({ authenticated: true, username: 'system:serviceaccount:shop:cart' })).toMatchObject({ ok: false, proven: 'shop/cart' });
    expect(await auth(new Error('connect ECONNREFUSED'))).toMatchObject({ ok: false, reason: 'TokenReview failed: connect ECONNREFUSED' });
    expect(await auth({ authenticated: false, error: 'token expired' })).toMatchObject({ ok: false, reason: 'TokenReview: not authenticated (token expired)' });
    expect(await auth({ authenticated: true, username: 'system:serviceaccount:shop:checkout', audiences: ['other'] })).toMatchObject({ ok: false });
    expect(await auth({ authenticated: true, username: 'alice' })).toMatchObject({ ok: false });
  });

  it('leaves join tokens and certificate-only requests to the other authenticators', async () => {
    const a = serviceAccountTokenAuthenticator(reviewer({ authenticated: true }), 'trellis');
    expect(await a.authenticate({ bearer: 'trellis-join.x' }, cart)).toBeUndefined();
    expect(await a.authenticate({ certificateUris: [] }, cart)).toBeUndefined();
  });

  it("tokenReviewerFor sends a TokenReview through the client's createTokenReview and reads its status", async () => {
    const bodies: unknown[] = [];
    const api = {
      createTokenReview: async (p: { body: unknown }) => {
        bodies.push(p.body);
        return { status: { authenticated: true, user: { username: 'system:serviceaccount:shop:cart' }, audiences: ['trellis'] } };
      },
    };
    const r = await tokenReviewerFor(api as never).review('jwt', ['trellis']);
    expect(r).toEqual({ authenticated: true, username: 'system:serviceaccount:shop:cart', audiences: ['trellis'] });
    expect(bodies).toEqual([{ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: 'jwt', audiences: ['trellis'] } }]);
  });
});

describe('certificateAuthenticator (renewals)', () => {
  const a = certificateAuthenticator(() => ['cluster.local']);
  it('proves the SPIFFE ID of a verified certificate in a served trust domain, and nothing else', async () => {
    expect(await a.authenticate({ certificateUris: ['spiffe://cluster.local/ns/shop/sa/cart'] }, cart)).toMatchObject({ ok: true, identity: cart });
    expect(await a.authenticate({ certificateUris: ['spiffe://cluster.local/ns/shop/sa/cart'] }, checkout)).toMatchObject({ ok: false, proven: 'shop/cart' });
    expect(await a.authenticate({ certificateUris: ['spiffe://evil.org/ns/shop/sa/cart'] }, cart)).toMatchObject({ ok: false });
    expect(await a.authenticate({ certificateUris: [] }, cart)).toMatchObject({ ok: false });
    expect(await a.authenticate({}, cart)).toBeUndefined();
  });
});

describe('JoinTokenStore', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trellis-tokens-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is single use even when two requests race with one token', async () => {
    const store = new JoinTokenStore(join(dir, 's'));
    const { token } = await store.create(cart, 60_000);
    const results = await Promise.all([store.consume(token, cart), store.consume(token, cart), store.consume(token, cart)]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok).map((r) => !r.ok && r.reason)).toEqual(['reused', 'reused']);
    expect(statSync(join(dir, 's')).mode & 0o777).toBe(0o700);
  });

  it('refuses an expired token and one whose secret part is wrong', async () => {
    let now = Date.now();
    const store = new JoinTokenStore(join(dir, 'e'), () => now);
    const { token } = await store.create(cart, 1_000);
    const [prefix, id] = token.split('.');
    expect(await store.consume(`${prefix}.${id}.${'B'.repeat(43)}`, cart)).toMatchObject({ ok: false, reason: 'unknown' });
    now += 1_001;
    expect(await store.consume(token, cart)).toMatchObject({ ok: false, reason: 'expired' });
    expect(await store.consume('nonsense', cart)).toMatchObject({ ok: false, reason: 'malformed' });
  });
});
