/** Builders of Kubernetes-shaped mesh objects for tests: namespaces, workloads, SMI policies, MeshConfig. */
import type { KubeObject } from '../mesh/objects.ts';

export const ns = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
export const sa = (namespace: string, name: string): KubeObject => ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } });

export function svc(namespace: string, name: string, ports: { port: number; targetPort?: number | string; name?: string; appProtocol?: string }[], selector: Record<string, string> = { app: name }): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { selector, ports } };
}

export function pod(namespace: string, name: string, serviceAccount: string, ip: string, labels: Record<string, string>): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels }, spec: { serviceAccountName: serviceAccount }, status: { podIP: ip } };
}

export function slice(
  namespace: string,
  service: string,
  endpoints: { ip: string; pod?: string; ready?: boolean }[],
  ports: { name?: string; port: number }[],
  name = `${service}-abc`,
): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: { ready: e.ready ?? true },
      ...(e.pod && { targetRef: { kind: 'Pod', name: e.pod, namespace } }),
    })),
    ports,
  };
}

type Rule = { kind: string; name: string; matches?: string[] };
export function target(namespace: string, name: string, dest: string, sources: (string | [string, string])[], rules: Rule[], destNs = namespace): KubeObject {
  return {
    apiVersion: 'access.smi-spec.io/v1alpha3',
    kind: 'TrafficTarget',
    metadata: { name, namespace },
    spec: {
      destination: { kind: 'ServiceAccount', name: dest, namespace: destNs },
      sources: sources.map((s) => (typeof s === 'string' ? { kind: 'ServiceAccount', name: s, namespace } : { kind: 'ServiceAccount', name: s[1], namespace: s[0] })),
      rules,
    },
  };
}

export function routeGroup(namespace: string, name: string, matches: { name: string; pathRegex?: string; methods?: string[]; headers?: unknown }[]): KubeObject {
  return { apiVersion: 'specs.smi-spec.io/v1alpha4', kind: 'HTTPRouteGroup', metadata: { name, namespace }, spec: { matches } };
}

export function tcpRoute(namespace: string, name: string, ports: number[], kind: 'TCPRoute' | 'UDPRoute' = 'TCPRoute'): KubeObject {
  return { apiVersion: 'specs.smi-spec.io/v1alpha4', kind, metadata: { name, namespace }, spec: { matches: { ports } } };
}

export function split(namespace: string, name: string, root: string, backends: { service: string; weight: number }[], matches?: string[]): KubeObject {
  return {
    apiVersion: matches ? 'split.smi-spec.io/v1alpha4' : 'split.smi-spec.io/v1alpha2',
    kind: 'TrafficSplit',
    metadata: { name, namespace },
    spec: { service: root, backends, ...(matches && { matches: matches.map((m) => ({ kind: 'HTTPRouteGroup', name: m })) }) },
  };
}

export function meshConfig(spec: Record<string, unknown>, name = 'trellis-mesh-config', apiVersion = 'config.trellismesh.io/v1alpha1'): KubeObject {
  return { apiVersion, kind: 'MeshConfig', metadata: { name, namespace: 'trellis-system' }, spec };
}

/** A workload: ServiceAccount, Service on `port` -> `targetPort`, one pod and its EndpointSlice. */
export function workload(namespace: string, name: string, ip: string, port = 8080, targetPort = port, portName = 'http'): KubeObject[] {
  return [
    sa(namespace, name),
    svc(namespace, name, [{ port, targetPort, name: portName }]),
    pod(namespace, `${name}-0`, name, ip, { app: name }),
    slice(namespace, name, [{ ip, pod: `${name}-0` }], [{ name: portName, port: targetPort }]),
  ];
}

/** A Gateway API HTTPRoute or GRPCRoute (`gateway.networking.k8s.io/v1`), spec as written in YAML. */
export function gatewayRoute(kind: 'HTTPRoute' | 'GRPCRoute', namespace: string, name: string, spec: Record<string, unknown>, apiVersion = 'gateway.networking.k8s.io/v1'): KubeObject {
  return { apiVersion, kind, metadata: { name, namespace }, spec };
}

/** A parentRef to a Service (GAMMA), with or without port. */
export function serviceParent(name: string, port?: number, namespace?: string): Record<string, unknown> {
  return { group: '', kind: 'Service', name, ...(namespace !== undefined && { namespace }), ...(port !== undefined && { port }) };
}

/** Where the GAMMA conformance fixture's workloads live (`gammaConformanceMesh`). */
export interface GammaFixtureOptions {
  /** Pod IPs of echo-v1 and echo-v2. */
  readonly podIPs?: { readonly v1: string; readonly v2: string };
  /** Cluster IPs of the Services echo, echo-v1, echo-v2. */
  readonly clusterIPs?: { readonly echo: string; readonly v1: string; readonly v2: string };
  /** The gRPC target port of each version (tests with real servers need free ports); default 7070 for both. */
  readonly grpcTargetPorts?: { readonly v1: number; readonly v2: number };
  /** The client pods' IPs (one in each namespace). */
  readonly clientIPs?: { readonly mesh: string; readonly consumer: string };
}

export const GAMMA_NS = 'gateway-conformance-mesh';
export const GAMMA_CONSUMER_NS = 'gateway-conformance-mesh-consumer';

/**
 * The Gateway API's Mesh conformance fixture (`conformance/mesh/manifests.yaml`) in Trellis' terms: pods
 * echo-v1 and echo-v2, Services `echo-v1`, `echo-v2` (one version each) and `echo` (both) with ports 80->8080
 * (http), 8080, 443->8443, 9090 (tcp) and 7070 (gRPC), a client identity in the mesh namespace and one in the
 * consumer namespace, and a permissive MeshConfig (the conformance tests assume traffic is allowed).
 */
export function gammaConformanceMesh(o: GammaFixtureOptions = {}): KubeObject[] {
  const ips = o.podIPs ?? { v1: '10.10.0.1', v2: '10.10.0.2' };
  const vips = o.clusterIPs ?? { echo: '10.96.0.10', v1: '10.96.0.11', v2: '10.96.0.12' };
  const grpc = o.grpcTargetPorts ?? { v1: 7070, v2: 7070 };
  const clients = o.clientIPs ?? { mesh: '10.10.0.9', consumer: '10.10.1.9' };
  const ports = (h2c: boolean, grpcTarget: number | string) => [
    { name: 'http', port: 80, targetPort: 8080, appProtocol: 'http' },
    { name: 'http-alt', port: 8080, targetPort: 8080, appProtocol: 'http' },
    { name: 'https', port: 443, targetPort: 8443, appProtocol: 'tcp' },
    { name: 'tcp', port: 9090, targetPort: 9090, appProtocol: 'tcp' },
    { name: 'grpc', port: 7070, targetPort: grpcTarget, appProtocol: h2c ? 'kubernetes.io/h2c' : 'grpc' },
  ];
  const service = (name: string, selector: Record<string, string>, vip: string, grpcTarget: number | string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: GAMMA_NS },
    spec: { selector, clusterIP: vip, ports: ports(name === 'echo', grpcTarget) },
  });
  const slicePorts = (g: number) => [
    { name: 'http', port: 8080 },
    { name: 'http-alt', port: 8080 },
    { name: 'https', port: 8443 },
    { name: 'tcp', port: 9090 },
    { name: 'grpc', port: g },
  ];
  const podOf = (v: 'v1' | 'v2'): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `echo-${v}-0`, namespace: GAMMA_NS, labels: { app: 'echo', version: v } },
    spec: { serviceAccountName: `echo-${v}`, containers: [{ ports: [{ name: 'grpc', containerPort: grpc[v] }] }] },
    status: { podIP: ips[v] },
  });
  return [
    ns(GAMMA_NS),
    ns(GAMMA_CONSUMER_NS),
    sa(GAMMA_NS, 'echo-v1'),
    sa(GAMMA_NS, 'echo-v2'),
    sa(GAMMA_NS, 'client'),
    sa(GAMMA_CONSUMER_NS, 'client'),
    podOf('v1'),
    podOf('v2'),
    pod(GAMMA_NS, 'client-0', 'client', clients.mesh, { app: 'client' }),
    pod(GAMMA_CONSUMER_NS, 'client-0', 'client', clients.consumer, { app: 'client' }),
    service('echo-v1', { app: 'echo', version: 'v1' }, vips.v1, grpc.v1),
    service('echo-v2', { app: 'echo', version: 'v2' }, vips.v2, grpc.v2),
    // Both versions behind one Service: a named gRPC targetPort resolves per pod.
    service('echo', { app: 'echo' }, vips.echo, 'grpc'),
    slice(GAMMA_NS, 'echo-v1', [{ ip: ips.v1, pod: 'echo-v1-0' }], slicePorts(grpc.v1)),
    slice(GAMMA_NS, 'echo-v2', [{ ip: ips.v2, pod: 'echo-v2-0' }], slicePorts(grpc.v2)),
    slice(GAMMA_NS, 'echo', [{ ip: ips.v1, pod: 'echo-v1-0' }], slicePorts(grpc.v1), 'echo-v1'),
    slice(GAMMA_NS, 'echo', [{ ip: ips.v2, pod: 'echo-v2-0' }], slicePorts(grpc.v2), 'echo-v2'),
    meshConfig({ traffic: { enablePermissiveTrafficPolicyMode: true } }),
  ];
}
