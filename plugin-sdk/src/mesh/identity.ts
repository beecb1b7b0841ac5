/** A workload identity: a Kubernetes ServiceAccount. @public */
export interface Identity {
  readonly namespace: string;
  readonly serviceAccount: string;
}

/** `ns/sa`, the key used in maps and in SDS secret names. */
export function identityKey(id: Identity): string {
  return `${id.namespace}/${id.serviceAccount}`;
}

export function parseIdentityKey(key: string): Identity | undefined {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/.exec(key);
  return m ? { namespace: m[1] ?? '', serviceAccount: m[3] ?? '' } : undefined;
}

/** OSM's DNS-style principal: `<sa>.<ns>.<trustDomain>`. */
export function principalName(id: Identity, trustDomain: string): string {
  return `${id.serviceAccount}.${id.namespace}.${trustDomain}`;
}

/** SPIFFE ID: `spiffe://<trustDomain>/ns/<ns>/sa/<sa>`. */
export function spiffeId(id: Identity, trustDomain: string): string {
  return `spiffe://${trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
}

/** The node-id kinds of the proxy families Trellis serves. */
export type ProxyKind = 'sidecar' | 'grpc' | (string & {});

/** A proxy's xDS node identity: `<uuid>.<kind>.<sa>.<ns>.<trustDomain>` (OSM's form). */
export interface NodeIdentity extends Identity {
  readonly uuid: string;
  readonly kind: ProxyKind;
  readonly trustDomain: string;
}

export function formatNodeId(n: NodeIdentity): string {
  return `${n.uuid}.${n.kind}.${n.serviceAccount}.${n.namespace}.${n.trustDomain}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Parses a node id; the trust domain may itself contain dots. */
export function parseNodeId(id: string): NodeIdentity | { error: string } {
  const parts = id.split('.');
  if (parts.length < 5) return { error: `node id "${id}" must look like <uuid>.<kind>.<serviceaccount>.<namespace>.<trustDomain>` };
  const [uuid, kind, serviceAccount, namespace, ...rest] = parts as [string, string, string, string, ...string[]];
  if (!UUID.test(uuid)) return { error: `node id "${id}": "${uuid}" is not a UUID` };
  if (!kind || !serviceAccount || !namespace || rest.some((p) => !p))
    return { error: `node id "${id}" has an empty segment` };
  return { uuid: uuid.toLowerCase(), kind, serviceAccount, namespace, trustDomain: rest.join('.') };
}
