import type { V1Container, V1Pod, V1Probe, V1Volume } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { formatNodeId, type BootstrapRequest, type BootstrapSecret, type IssuedCertificate, type NodeIdentity, SecretValue } from '@trellis/plugin-sdk';
import { envoyBootstrap, type ProbeSpec } from '@trellis/plugin-proxy-envoy';
import { grpcBootstrap } from '@trellis/plugin-proxy-grpc';
import { captureProblems, initScript, PROXY_UID, type CaptureOptions } from './iptables.ts';

export const Annotations = {
  injection: 'trellis.io/sidecar-injection',
  osmInjection: 'openservicemesh.io/sidecar-injection',
  proxy: 'trellis.io/proxy',
  outboundPortExclusions: 'trellis.io/outbound-port-exclusion-list',
  outboundIpRangeExclusions: 'trellis.io/outbound-ip-range-exclusion-list',
  inboundPortExclusions: 'trellis.io/inbound-port-exclusion-list',
} as const;
export const PROXY_UUID_LABEL = 'trellis.io/proxy-uuid';

/** Where the injected containers keep their files. */
const Paths = { bootstrap: '/etc/trellis/bootstrap', envoy: '/etc/envoy', certs: '/etc/trellis/certs', token: '/var/run/secrets/trellis' } as const;
const PROBE_PORTS = { livenessProbe: 15901, readinessProbe: 15902, startupProbe: 15903 } as const;
const PROBE_KIND = { livenessProbe: 'liveness', readinessProbe: 'readiness', startupProbe: 'startup' } as const;

export interface InjectorSettings {
  readonly envoyImage: string;
  /** The image with the `trellis` CLI (the certificate agent) and iptables (the init container). */
  readonly trellisImage: string;
  /** `host:port` of ADS (mTLS) as pods reach it. */
  readonly xdsAddress: string;
  /** `host:port` of the plaintext ADS proxyless gRPC pods dial (in-cluster: a node-local or sidecar-free path). */
  readonly grpcXdsAddress?: string;
  /** `host:port` of the identity service as pods reach it. */
  readonly identityAddress: string;
  /** Audience of the projected ServiceAccount token the agent presents. */
  readonly audience: string;
  readonly trustDomain: () => string;
  /** The mesh CA bundle (public) pods check the controller against. */
  readonly trustBundle: () => string;
  /** Mesh-wide exclusions (MeshConfig), merged with the pod's annotations. */
  readonly capture?: () => CaptureOptions;
  readonly envoyResources?: V1Container['resources'];
}

/** The pod's bootstrap Secret (public material only: the key is made by the agent inside the pod). */
export type { BootstrapSecret } from '@trellis/plugin-sdk';

export type Decision = { readonly inject: false; readonly reason: string } | { readonly inject: true; readonly kind: 'sidecar' | 'grpc' };

export class InjectionError extends Error {}

/** Whether to inject: the pod's annotation wins (`disabled` opts out), an injected pod is left alone. */
export function decide(pod: V1Pod): Decision {
  const a = pod.metadata?.annotations ?? {};
  const value = a[Annotations.injection] ?? a[Annotations.osmInjection];
  if (value !== undefined && value !== 'enabled' && value !== 'disabled')
    throw new InjectionError(`annotation ${a[Annotations.injection] !== undefined ? Annotations.injection : Annotations.osmInjection}: "${value}" must be "enabled" or "disabled"`);
  if (value === 'disabled') return { inject: false, reason: 'sidecar injection disabled by annotation' };
  if (pod.metadata?.labels?.[PROXY_UUID_LABEL] || pod.spec?.containers?.some((c) => c.name === 'envoy')) return { inject: false, reason: 'already injected' };
  const proxy = a[Annotations.proxy] ?? 'envoy';
  if (proxy !== 'envoy' && proxy !== 'grpc') throw new InjectionError(`annotation ${Annotations.proxy}: "${proxy}" must be "envoy" or "grpc"`);
  return { inject: true, kind: proxy === 'grpc' ? 'grpc' : 'sidecar' };
}

/** A comma-separated annotation; a bad item names the annotation and the item. */
function list<T>(pod: V1Pod, key: string, parse: (s: string) => T | undefined, what: string): T[] {
  const text = pod.metadata?.annotations?.[key];
  if (text === undefined || text.trim() === '') return [];
  return text.split(',').map((raw) => {
    const v = parse(raw.trim());
    if (v === undefined) throw new InjectionError(`annotation ${key}: "${raw.trim()}" is not ${what}`);
    return v;
  });
}

const portOf = (s: string) => (/^\d{1,5}$/.test(s) && Number(s) >= 1 && Number(s) <= 65535 ? Number(s) : undefined);

/** The capture options of a pod: MeshConfig's plus its annotations'; a bad value names the annotation. */
export function captureOf(pod: V1Pod, mesh: CaptureOptions = {}): CaptureOptions {
  const cidr = (s: string) => (captureProblems({ excludeOutboundIpRanges: [s] }).length === 0 ? s : undefined);
  const o: CaptureOptions = {
    excludeOutboundPorts: [...(mesh.excludeOutboundPorts ?? []), ...list(pod, Annotations.outboundPortExclusions, portOf, 'a port (1-65535)')],
    excludeOutboundIpRanges: [...(mesh.excludeOutboundIpRanges ?? []), ...list(pod, Annotations.outboundIpRangeExclusions, cidr, 'a CIDR such as 10.0.0.0/8')],
    excludeInboundPorts: [...(mesh.excludeInboundPorts ?? []), ...list(pod, Annotations.inboundPortExclusions, portOf, 'a port (1-65535)')],
  };
  const problems = captureProblems(o);
  if (problems.length) throw new InjectionError(`traffic capture settings: ${problems.join('; ')}`);
  return o;
}

/** An unused certificate: bootstraps are rendered without one (the agent in the pod obtains it). */
const NO_CERTIFICATE: IssuedCertificate = {
  certificatePem: '',
  chainPem: '',
  privateKey: new SecretValue(''),
  issuingCaPem: '',
  trustBundlePem: '',
  serialNumber: '',
  notBefore: new Date(0),
  notAfter: new Date(0),
};

export interface Injection {
  readonly pod: V1Pod;
  readonly secret: BootstrapSecret;
  readonly uuid: string;
  readonly nodeId: string;
}

/** The injected pod (a copy) and its bootstrap Secret. */
export function injectPod(original: V1Pod, namespace: string, kind: 'sidecar' | 'grpc', s: InjectorSettings, uuid: string): Injection {
  const pod = structuredClone(original);
  const serviceAccount = pod.spec?.serviceAccountName ?? 'default';
  const node: NodeIdentity = { uuid, kind, namespace, serviceAccount, trustDomain: s.trustDomain() };
  const nodeId = formatNodeId(node);
  const secretName = `${kind === 'grpc' ? 'grpc' : 'envoy'}-bootstrap-config-${uuid}`;
  pod.metadata = { ...pod.metadata, labels: { ...pod.metadata?.labels, [PROXY_UUID_LABEL]: uuid } };
  const spec = (pod.spec ??= { containers: [] });
  const agentDir = kind === 'grpc' ? Paths.certs : Paths.envoy;
  const volumes: V1Volume[] = [
    { name: 'trellis-bootstrap', secret: { secretName } },
    { name: 'trellis-certs', emptyDir: { medium: 'Memory' } },
    {
      name: 'trellis-token',
      projected: { sources: [{ serviceAccountToken: { audience: s.audience, expirationSeconds: 3600, path: 'token' } }] },
    },
  ];
  spec.volumes = [...(spec.volumes ?? []), ...volumes];
  const agent: V1Container = {
    name: 'trellis-agent',
    image: s.trellisImage,
    // A native sidecar (an init container that keeps running): its certificate is there before the app starts.
    restartPolicy: 'Always',
    args: [
      'agent',
      '--identity',
      `${namespace}/${serviceAccount}`,
      ...(kind === 'sidecar' ? ['--node-id', nodeId] : []),
      '--dir',
      agentDir,
      '--server',
      s.identityAddress,
      '--ca',
      `${Paths.bootstrap}/ca.crt`,
      '--token-file',
      `${Paths.token}/token`,
    ],
    startupProbe: { exec: { command: ['test', '-s', `${agentDir}/${kind === 'grpc' ? 'cert.pem' : 'tls.crt'}`] }, periodSeconds: 1, failureThreshold: 60 },
    securityContext: { runAsUser: PROXY_UID + 1, runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
    resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '64Mi' } },
    volumeMounts: [
      { name: 'trellis-bootstrap', mountPath: Paths.bootstrap, readOnly: true },
      { name: 'trellis-certs', mountPath: agentDir },
      { name: 'trellis-token', mountPath: Paths.token, readOnly: true },
    ],
  };
  let data: Record<string, string>;
  const req = (controllerAddress: string, outDir: string): BootstrapRequest => ({ node, controllerAddress, outDir, certificate: NO_CERTIFICATE });
  if (kind === 'sidecar') {
    const probes = rewriteProbes(spec.containers);
    const files = envoyBootstrap(req(s.xdsAddress, Paths.envoy), { probes });
    // The bootstrap and the CA go in the Secret; certificate, key and SDS file are the agent's, in the emptyDir.
    data = { 'bootstrap.yaml': fileOf(files, 'bootstrap.yaml'), 'ca.crt': s.trustBundle() };
    const init: V1Container = {
      name: 'trellis-init',
      image: s.trellisImage,
      command: ['/bin/sh', '-c', initScript(captureOf(original, s.capture?.()))],
      securityContext: { runAsUser: 0, runAsNonRoot: false, capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] }, allowPrivilegeEscalation: false },
      resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '32Mi' } },
    };
    const envoy: V1Container = {
      name: 'envoy',
      image: s.envoyImage,
      command: ['envoy'],
      args: ['--config-path', `${Paths.bootstrap}/bootstrap.yaml`, '--service-cluster', `${serviceAccount}.${namespace}`, '--log-level', 'info'],
      ports: [
        { name: 'proxy-admin', containerPort: 15000 },
        { name: 'proxy-inbound', containerPort: 15003 },
        { name: 'proxy-metrics', containerPort: 15010 },
      ],
      securityContext: { runAsUser: PROXY_UID, runAsGroup: PROXY_UID, runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
      resources: s.envoyResources ?? { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
      volumeMounts: [
        { name: 'trellis-bootstrap', mountPath: Paths.bootstrap, readOnly: true },
        { name: 'trellis-certs', mountPath: Paths.envoy, readOnly: true },
      ],
    };
    spec.initContainers = [init, agent, ...(spec.initContainers ?? [])];
    spec.containers = [...spec.containers, envoy];
  } else {
    if (!s.grpcXdsAddress) throw new InjectionError(`annotation ${Annotations.proxy}: grpc needs the injector's grpcXdsAddress (plaintext ADS reachable from pods)`);
    const files = grpcBootstrap(req(s.grpcXdsAddress, Paths.certs), { certificateFiles: 'separate' });
    data = { 'bootstrap.json': fileOf(files, 'bootstrap.json'), 'ca.crt': s.trustBundle() };
    spec.initContainers = [agent, ...(spec.initContainers ?? [])];
    spec.containers = spec.containers.map((c) => ({
      ...c,
      env: [...(c.env ?? []), { name: 'GRPC_XDS_BOOTSTRAP', value: `${Paths.bootstrap}/bootstrap.json` }],
      volumeMounts: [...(c.volumeMounts ?? []), { name: 'trellis-bootstrap', mountPath: Paths.bootstrap, readOnly: true }, { name: 'trellis-certs', mountPath: Paths.certs, readOnly: true }],
    }));
  }
  // Owned by the pod's controller, so deleting the workload deletes its Secrets (the pod has no uid yet).
  const owner = original.metadata?.ownerReferences?.find((o) => o.controller === true && o.uid);
  const ownerReferences = owner ? [{ apiVersion: owner.apiVersion, kind: owner.kind, name: owner.name, uid: owner.uid }] : undefined;
  return { pod, secret: { name: secretName, namespace, data, ...(ownerReferences && { ownerReferences }) }, uuid, nodeId };
}

function fileOf(files: readonly { path: string; content: string }[], path: string): string {
  const f = files.find((x) => x.path === path);
  if (!f) throw new Error(`the proxy backend wrote no ${path}`);
  return f.content;
}

/**
 * HTTP probes become Envoy's probe listeners (OSM's `/osm-<kind>-probe` on 1590x), which pass them to the
 * app's port and path; the first container's probe of each kind is rewritten (Envoy has one listener per kind).
 */
function rewriteProbes(containers: V1Container[]): NonNullable<Parameters<typeof envoyBootstrap>[1]>['probes'] {
  const probes: Partial<Record<'liveness' | 'readiness' | 'startup', ProbeSpec>> = {};
  for (const c of containers)
    for (const key of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
      const p: V1Probe | undefined = c[key];
      const kind = PROBE_KIND[key];
      if (!p?.httpGet || probes[kind]) continue;
      const port = resolvePort(c, p.httpGet.port);
      if (port === undefined) continue;
      probes[kind] = { port, path: p.httpGet.path ?? '/' };
      c[key] = { ...p, httpGet: { ...p.httpGet, port: PROBE_PORTS[key], path: `/osm-${kind}-probe`, scheme: 'HTTP' } };
    }
  return probes;
}

function resolvePort(c: V1Container, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  if (typeof port === 'string' && /^\d+$/.test(port)) return Number(port);
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

/** For tests and the debug page: the Secret as YAML. */
export function secretYaml(s: BootstrapSecret): string {
  return stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: s.name, namespace: s.namespace }, type: 'Opaque', stringData: s.data });
}
