import type { ServiceName } from '@trellis/plugin-sdk';

/**
 * OSM's hostname forms for a service port, sorted: `svc.ns`, `svc.ns.svc`, `svc.ns.svc.cluster`,
 * `svc.ns.svc.cluster.local`, each with and without `:port`; the short `svc` / `svc:port` only for a client
 * in the service's namespace (elsewhere they would name another namespace's service).
 */
export function hostnames(svc: ServiceName, port: number, clientNamespace: string): string[] {
  const base = [`${svc.name}.${svc.namespace}`, `${svc.name}.${svc.namespace}.svc`, `${svc.name}.${svc.namespace}.svc.cluster`, `${svc.name}.${svc.namespace}.svc.cluster.local`];
  if (clientNamespace === svc.namespace) base.unshift(svc.name);
  return base.flatMap((h) => [h, `${h}:${port}`]).sort();
}

/** The fully qualified name (SNI, virtual host name). */
export function fqdn(svc: ServiceName): string {
  return `${svc.name}.${svc.namespace}.svc.cluster.local`;
}
