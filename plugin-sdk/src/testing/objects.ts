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
