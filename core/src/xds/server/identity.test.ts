import type { PeerCertificate } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { identityFromCertificate, resolveNodeIdentity } from './identity.ts';

const id = '6f1c2f0e-52a8-4a55-9d0b-0c3a7f3f1a11.sidecar.bookstore.shop.cluster.local';
const cert = (san: string) => ({ raw: Buffer.from('x'), subjectaltname: san }) as unknown as PeerCertificate;

describe('identityFromCertificate', () => {
  it('reads the node id DNS SAN and checks the SPIFFE URI', () => {
    const r = identityFromCertificate(cert(`DNS:${id}, URI:spiffe://cluster.local/ns/shop/sa/bookstore`));
    expect(r).toEqual({ ok: true, node: { uuid: id.slice(0, 36), kind: 'sidecar', serviceAccount: 'bookstore', namespace: 'shop', trustDomain: 'cluster.local' } });
  });
  it('rejects a SPIFFE URI for another identity, a missing node id, or no certificate', () => {
    expect(identityFromCertificate(cert(`DNS:${id}, URI:spiffe://cluster.local/ns/shop/sa/other`))).toMatchObject({ ok: false, reason: 'permission_denied' });
    expect(identityFromCertificate(cert('DNS:bookstore.shop.cluster.local'))).toMatchObject({ ok: false, reason: 'permission_denied' });
    expect(identityFromCertificate(undefined)).toMatchObject({ ok: false, reason: 'unauthenticated' });
  });
});

describe('resolveNodeIdentity', () => {
  const proven = { uuid: id.slice(0, 36), kind: 'sidecar', serviceAccount: 'bookstore', namespace: 'shop', trustDomain: 'cluster.local' };
  it('accepts an agreeing node id and rejects a different one', () => {
    expect(resolveNodeIdentity(id, proven)).toEqual({ ok: true, node: proven });
    const other = resolveNodeIdentity(id.replace('.bookstore.', '.bookbuyer.'), proven);
    expect(other).toMatchObject({ ok: false, reason: 'permission_denied' });
    expect(other.ok ? '' : other.message).toContain("does not match the client certificate's identity");
  });
  it('parses node.id alone on plaintext and rejects garbage', () => {
    expect(resolveNodeIdentity(id, undefined)).toMatchObject({ ok: true });
    expect(resolveNodeIdentity('nope', undefined)).toMatchObject({ ok: false, reason: 'invalid_node' });
    expect(resolveNodeIdentity(undefined, undefined)).toMatchObject({ ok: false, reason: 'invalid_node' });
  });
});
