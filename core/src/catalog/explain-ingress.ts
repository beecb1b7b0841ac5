/**
 * `policy explain` from outside the mesh (`ip:ADDR`, `principal:NAME`, `service:ns/name`) to a backend service
 * port: read off the inbound ports' `ingress` field (the IngressBackend the Envoy generator turns into the
 * ingress chain and its RBAC), for every identity behind the service.
 */
import { isIP } from 'node:net';
import { identityKey } from '@trellis/plugin-sdk';
import type { IngressPolicy, InboundPort, MeshServicePort, ProxyView } from '@trellis/plugin-sdk';
import { ExplainInputError, inRange } from './explain-egress.ts';

export interface IngressSource {
  readonly kind: 'ip' | 'principal' | 'service';
  readonly name: string;
  /** Source addresses: the IP, or the endpoints of a Service source. */
  readonly addresses: readonly string[];
}

export interface ExplainIngress {
  readonly source: string;
  /** Per identity behind the backend: the IngressBackend on its port (absent: none) and whether it admits. */
  readonly identities: readonly { readonly identity: string; readonly policy?: string; readonly allowed: boolean }[];
}

/** Parses an ingress FROM (`ip:`, `principal:`, `service:` prefix); undefined for a mesh FROM. */
export function ingressSource(from: string, endpointsOf: (svc: string) => readonly string[] | undefined): IngressSource | undefined {
  const m = /^(ip|principal|service):(.+)$/.exec(from);
  if (!m) return undefined;
  const kind = m[1] as IngressSource['kind'];
  const name = m[2] as string;
  if (kind === 'ip') {
    if (isIP(name) === 0) throw new ExplainInputError(`FROM: "${name}" is not an IP address`);
    return { kind, name, addresses: [name] };
  }
  if (kind === 'principal') return { kind, name, addresses: [] };
  const addresses = endpointsOf(name);
  if (!addresses) throw new ExplainInputError(`FROM: no Service ${name} (service:<namespace>/<name>)`);
  return { kind, name, addresses };
}

function admits(p: IngressPolicy, src: IngressSource, text: string, reasons: string[]): boolean {
  const ranges = p.sourceRanges;
  if (src.kind === 'principal' && ranges.length > 0) {
    reasons.push(`IngressBackend ${p.policy} admits only addresses in ${ranges.join(', ')}: ${text} has none here (name it by ip: to check)`);
    return false;
  }
  const outside = src.addresses.filter((a) => ranges.length > 0 && !ranges.some((c) => inRange(c, a)));
  if (src.kind === 'service' && src.addresses.length === 0) {
    reasons.push(`${text} has no endpoints, so no address of it can match IngressBackend ${p.policy}`);
    return false;
  }
  if (outside.length) {
    reasons.push(`IngressBackend ${p.policy} admits ${ranges.join(', ')}, not ${outside.join(', ')} (${text})`);
    return false;
  }
  const by = ranges.length ? `source ${ranges.filter((c) => src.addresses.some((a) => inRange(c, a))).join(', ') || ranges.join(', ')}` : 'any address';
  if (p.protocol === 'https' && p.principals !== 'any') {
    if (src.kind !== 'principal' || !p.principals.includes(src.name)) {
      reasons.push(`IngressBackend ${p.policy} (https) requires a client certificate of ${p.principals.join(', ')}${src.kind === 'principal' ? `, not ${src.name}` : ' (FROM principal:NAME)'}`);
      return false;
    }
    reasons.push(`IngressBackend ${p.policy} admits ${text}: https, AuthenticatedPrincipal ${src.name}, ${by}`);
    return true;
  }
  const tls = p.protocol === 'https' ? (p.skipClientCertValidation ? ', TLS without client certificate validation' : ', TLS with a mesh-signed client certificate') : '';
  reasons.push(`IngressBackend ${p.policy} admits ${text}: ${p.protocol}, ${by}${tls}${p.sniHosts.length ? ` (SNI ${p.sniHosts.join(', ')})` : ''}`);
  return true;
}

/** The IngressBackend decision on each destination proxy's inbound port for `service`. */
export function explainIngress(views: readonly ProxyView[], src: IngressSource, service: MeshServicePort, reasons: string[]): ExplainIngress {
  const text = `${src.kind}:${src.name}`;
  const identities = views.map((v) => {
    const id = identityKey(v.identity);
    const inbound: InboundPort | undefined = v.inbound.find((p) => p.service.namespace === service.namespace && p.service.name === service.name && p.service.port === service.port);
    const p = inbound?.ingress;
    if (!p) {
      reasons.push(`no IngressBackend has backend ${service.namespace}/${service.name} port ${service.targetPort} (on ${id}'s proxy)`);
      return { identity: id, allowed: false };
    }
    return { identity: id, policy: p.policy, allowed: admits(p, src, text, reasons) };
  });
  return { source: text, identities };
}
