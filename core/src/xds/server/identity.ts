import type { PeerCertificate } from 'node:tls';
import { parseNodeId, spiffeId } from '@trellis/plugin-sdk';
import type { NodeIdentity } from '@trellis/plugin-sdk';

export type IdentityResult = { ok: true; node: NodeIdentity } | { ok: false; reason: 'unauthenticated' | 'permission_denied' | 'invalid_node'; message: string };

/** SANs of a peer certificate as `{ dns, uri }` (node's `subjectaltname` is "DNS:a, URI:b"). */
export function subjectAltNames(cert: PeerCertificate): { dns: string[]; uri: string[] } {
  const dns: string[] = [];
  const uri: string[] = [];
  for (const part of (cert.subjectaltname ?? '').split(/,\s*/)) {
    if (part.startsWith('DNS:')) dns.push(part.slice(4));
    else if (part.startsWith('URI:')) uri.push(part.slice(4));
  }
  return { dns, uri };
}

/**
 * The node identity a client certificate proves: the DNS SAN holding the full node id
 * `<uuid>.<kind>.<sa>.<ns>.<trustDomain>`; a SPIFFE URI SAN, when present, must name the same identity.
 */
export function identityFromCertificate(cert: PeerCertificate | undefined): IdentityResult {
  if (!cert?.raw) return { ok: false, reason: 'unauthenticated', message: 'no verified client certificate' };
  const { dns, uri } = subjectAltNames(cert);
  for (const name of dns) {
    const parsed = parseNodeId(name);
    if ('error' in parsed) continue;
    const spiffe = uri.filter((u) => u.startsWith('spiffe://'));
    if (spiffe.length > 0 && !spiffe.includes(spiffeId(parsed, parsed.trustDomain)))
      return { ok: false, reason: 'permission_denied', message: `client certificate SPIFFE ID ${spiffe.join(', ')} does not match its node id SAN "${name}"` };
    return { ok: true, node: parsed };
  }
  return { ok: false, reason: 'permission_denied', message: 'client certificate has no DNS SAN holding a node id <uuid>.<kind>.<sa>.<ns>.<trustDomain>' };
}

/** Parses a request's `node.id` and, when the certificate proved an identity, requires agreement with it. */
export function resolveNodeIdentity(nodeId: string | undefined, proven: NodeIdentity | undefined): IdentityResult {
  if (!nodeId) return { ok: false, reason: 'invalid_node', message: 'the first request on the stream carries no node.id' };
  const claimed = parseNodeId(nodeId);
  if ('error' in claimed) return { ok: false, reason: 'invalid_node', message: claimed.error };
  if (!proven) return { ok: true, node: claimed };
  const same =
    claimed.uuid === proven.uuid && claimed.kind === proven.kind && claimed.serviceAccount === proven.serviceAccount && claimed.namespace === proven.namespace;
  if (!same)
    return {
      ok: false,
      reason: 'permission_denied',
      message: `node.id "${nodeId}" does not match the client certificate's identity ${proven.uuid}.${proven.kind}.${proven.serviceAccount}.${proven.namespace}`,
    };
  return { ok: true, node: proven };
}
