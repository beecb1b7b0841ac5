/**
 * The mesh's naming rules, shared by the catalog (which names clusters and hostnames in the views) and every
 * proxy backend (SNI, secret names), so a backend and the core cannot disagree. OSM's forms throughout, so
 * OSM users find what they know and Trellis and OSM sidecars interoperate during a migration.
 */
import { identityKey, type Identity } from '../mesh/identity.ts';
import type { ServiceName } from '../mesh/views.ts';

/** The Kubernetes cluster DNS domain the hostname forms end in. */
export const CLUSTER_DOMAIN = 'cluster.local';

/** The service's fully qualified DNS name: `svc.ns.svc.cluster.local`. */
export function serviceFqdn(svc: ServiceName): string {
  return `${svc.name}.${svc.namespace}.svc.${CLUSTER_DOMAIN}`;
}

/** The TLS server name a client sends to reach the service (and the inbound chain matches): its FQDN. */
export const serviceSni = serviceFqdn;

/**
 * The names a client may use for a service port, sorted: `svc.ns`, `svc.ns.svc`, `svc.ns.svc.cluster`,
 * `svc.ns.svc.cluster.local`, each with and without `:port`; the short `svc` / `svc:port` only for a client
 * in the service's namespace (elsewhere they would name another namespace's service).
 */
export function serviceHostnames(svc: ServiceName, port: number, clientNamespace: string): string[] {
  const ns = `${svc.name}.${svc.namespace}`;
  const base = [ns, `${ns}.svc`, `${ns}.svc.cluster`, serviceFqdn(svc)];
  if (clientNamespace === svc.namespace) base.unshift(svc.name);
  return base.flatMap((h) => [h, `${h}:${port}`]).sort();
}

/** The upstream cluster of a service port (`ns/svc|targetPort`), shared by every client of it. */
export function outboundClusterName(svc: ServiceName, targetPort: number): string {
  return `${svc.namespace}/${svc.name}|${targetPort}`;
}

/** The cluster of the local application behind a sidecar (`ns/svc|targetPort|local`). */
export function localClusterName(svc: ServiceName, targetPort: number): string {
  return `${svc.namespace}/${svc.name}|${targetPort}|local`;
}

/**
 * SDS secret names. Names identify; who may receive a secret is its `audience`, never its name.
 *
 * `ownCert` / `ownRoots` name no identity: every proxy resolves them to its own identity's certificate (its
 * snapshot holds only its own, and the server sends a secret with an audience only to that identity), as
 * Istio's `default` does. Resources that reference them (an upstream cluster) are then the same for every
 * identity and encoded once for the whole mesh.
 */
export const SecretNames = {
  /** The proxy's own certificate chain and private key, whatever its identity. */
  ownCert: 'service-cert',
  /** The mesh roots the proxy's inbound listener trusts (the same for every identity). */
  ownRoots: 'root-cert-for-mtls-inbound',
  /** An identity's certificate chain and private key. */
  serviceCert: (id: Identity): string => `service-cert:${identityKey(id)}`,
  /** The mesh roots an identity's inbound listener trusts. */
  rootCertInbound: (id: Identity): string => `root-cert-for-mtls-inbound:${identityKey(id)}`,
  /** The mesh roots plus the SAN matchers of the identities behind an upstream service. */
  rootCertOutbound: (svc: ServiceName): string => `root-cert-for-mtls-outbound:${svc.namespace}/${svc.name}`,
} as const;
