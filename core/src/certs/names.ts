import { formatNodeId, principalName, spiffeId, type CertificateRequest, type Identity, type NodeIdentity } from '@trellis/plugin-sdk';

export type CertificateNames = Pick<CertificateRequest, 'commonName' | 'dnsNames' | 'uris'>;

/** A workload certificate: CN = DNS SAN = `<sa>.<ns>.<td>`, URI SAN = the SPIFFE ID. */
export function workloadNames(identity: Identity, td: string): CertificateNames {
  const name = principalName(identity, td);
  return { commonName: shortCn(name), dnsNames: [name], uris: [spiffeId(identity, td)] };
}

/** A proxy's xDS client certificate: DNS SAN = the full node id (too long for a CN), URI SAN = SPIFFE ID. */
export function bootstrapNames(node: NodeIdentity): CertificateNames {
  const identity: Identity = { namespace: node.namespace, serviceAccount: node.serviceAccount };
  const name = principalName(identity, node.trustDomain);
  return { commonName: name.length <= 64 ? name : node.uuid, dnsNames: [formatNodeId(node)], uris: [spiffeId(identity, node.trustDomain)] };
}

export function shortCn(name: string): string {
  return name.length <= 64 ? name : name.slice(0, 64);
}
