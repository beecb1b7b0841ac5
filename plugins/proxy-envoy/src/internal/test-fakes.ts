/** Hand-built views and a fake resource factory for this package's unit tests (not used at runtime). */
import { createHash } from 'node:crypto';
import { SecretValue } from '@trellis/plugin-sdk';
import type {
  CreateOptions,
  GenerateContext,
  HttpMatch,
  Identity,
  InboundPort,
  IssuedCertificate,
  MeshEndpoint,
  MeshServicePort,
  OutboundService,
  Protocol,
  ProxyView,
  XdsResource,
  XdsResourceFactory,
} from '@trellis/plugin-sdk';

export const TD = 'cluster.local';

/** Encodes nothing: the version is a hash of the JSON, enough to compare outputs. */
export function fakeFactory(): XdsResourceFactory & { created: number } {
  const f = {
    created: 0,
    create(typeUrl: string, name: string, input: object, options?: CreateOptions): XdsResource {
      f.created++;
      const value = input as Record<string, unknown>;
      const body = new TextEncoder().encode(JSON.stringify(value));
      const version = createHash('sha256').update(body).digest('hex').slice(0, 16);
      return Object.freeze({ typeUrl, name, version, body, value, ...(options?.audience ? { audience: options.audience } : {}) });
    },
  };
  return f;
}

export const id = (namespace: string, serviceAccount: string): Identity => ({ namespace, serviceAccount });

export function svc(namespace: string, name: string, port: number, protocol: Protocol = 'http', targetPort = port): MeshServicePort {
  return { namespace, name, port, targetPort, protocol };
}

export function ep(ip: string, port: number, identity?: Identity, ready = true): MeshEndpoint {
  return { ip, port, ready, ...(identity ? { identity } : {}) };
}

export function hostnames(s: MeshServicePort, sameNamespace: boolean): string[] {
  const bases = [`${s.name}.${s.namespace}`, `${s.name}.${s.namespace}.svc`, `${s.name}.${s.namespace}.svc.cluster`, `${s.name}.${s.namespace}.svc.cluster.local`];
  if (sameNamespace) bases.unshift(s.name);
  return bases.flatMap((b) => [b, `${b}:${s.port}`]);
}

export function outbound(s: MeshServicePort, endpoints: MeshEndpoint[], extra: Partial<OutboundService> = {}): OutboundService {
  const ids = [...new Map(endpoints.flatMap((e) => (e.identity ? [[`${e.identity.namespace}/${e.identity.serviceAccount}`, e.identity] as const] : []))).values()];
  return {
    service: s,
    clusterName: `${s.namespace}/${s.name}|${s.targetPort}`,
    hostnames: hostnames(s, false),
    endpoints,
    identities: ids,
    ...extra,
  };
}

export const anyMatch: HttpMatch = { name: 'any', pathRegex: '.*', methods: ['*'], headers: [] };

export function inbound(s: MeshServicePort, extra: Partial<InboundPort> = {}): InboundPort {
  return { service: s, localClusterName: `${s.namespace}/${s.name}|${s.targetPort}|local`, hostnames: hostnames(s, true), routes: [], tcpPolicies: [], ...extra };
}

export function view(extra: Partial<ProxyView> = {}): ProxyView {
  return { identity: id('bookbuyer', 'bookbuyer'), trustDomain: TD, permissive: false, egress: false, outbound: [], inbound: [], localEndpoints: [], ...extra };
}

export function certificate(serial = '01'): IssuedCertificate {
  return {
    certificatePem: '-----BEGIN CERTIFICATE-----\nLEAF\n-----END CERTIFICATE-----\n',
    chainPem: '-----BEGIN CERTIFICATE-----\nLEAF\n-----END CERTIFICATE-----\n',
    privateKey: new SecretValue('-----BEGIN PRIVATE KEY-----\nSECRETKEY\n-----END PRIVATE KEY-----\n'),
    issuingCaPem: '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n',
    trustBundlePem: '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n',
    serialNumber: serial,
    notBefore: new Date(0),
    notAfter: new Date(86_400_000),
  };
}

export function ctx(resources: XdsResourceFactory, identity: Identity, cert?: IssuedCertificate): GenerateContext {
  return {
    node: { uuid: '38cf2479-bfea-4c1e-a961-f8f8e2b2e8cb', kind: 'sidecar', trustDomain: TD, ...identity },
    resources,
    ...(cert ? { certificate: cert } : {}),
  };
}

/** The resource's object by type suffix and name. */
export function find(resources: readonly XdsResource[], kind: 'Listener' | 'RouteConfiguration' | 'Cluster' | 'ClusterLoadAssignment' | 'Secret', name: string): Record<string, unknown> {
  const r = resources.find((x) => x.typeUrl.endsWith(`.${kind}`) && x.name === name);
  if (!r) throw new Error(`no ${kind} "${name}" in [${resources.map((x) => `${x.typeUrl.split('.').pop()}:${x.name}`).join(', ')}]`);
  return r.value;
}
