/**
 * The synthetic mesh: M services (one ServiceAccount each, 2-3 ready pods behind an EndpointSlice, HTTP on
 * 8080) spread over namespaces of up to 50 services; every service is reachable from the next three services
 * in its namespace (one TrafficTarget per destination, one HTTPRouteGroup per namespace); one service in ten
 * is the root of a 90/10 TrafficSplit over two others of its namespace. Written as YAML for the file source:
 * the objects the scenarios edit (targets, endpoint slices, MeshConfig) each in their own file.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import YAML from 'yaml';

export interface GenService {
  index: number;
  name: string;
  namespace: string;
  /** The ServiceAccount (= identity) of the service's pods. */
  serviceAccount: string;
  ips: string[];
  /** Indexes of the services whose identities this one's TrafficTarget admits. */
  sources: number[];
}

export interface GenMesh {
  dir: string;
  services: GenService[];
  namespaces: string[];
  splits: { namespace: string; root: string; backends: string[] }[];
  meshConfigFile: string;
  counts: Record<string, number>;
  /** Publishes a changed object to the source under test: rewrites its file (file source) or puts it (API server). */
  publish: (file: string, obj: unknown) => void;
}

const SERVICES_PER_NAMESPACE = 50;
const SOURCES_PER_TARGET = 3;

const pad = (i: number) => String(i).padStart(5, '0');
export const serviceName = (i: number) => `svc-${pad(i)}`;

function ip(n: number): string {
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

function doc(objs: unknown[]): string {
  return objs.map((o) => YAML.stringify(o)).join('---\n');
}

export function targetObject(s: GenService, services: readonly GenService[]): unknown {
  return {
    apiVersion: 'access.smi-spec.io/v1alpha3',
    kind: 'TrafficTarget',
    metadata: { name: s.name, namespace: s.namespace },
    spec: {
      destination: { kind: 'ServiceAccount', name: s.serviceAccount, namespace: s.namespace },
      sources: s.sources.map((j) => ({ kind: 'ServiceAccount', name: services[j]!.serviceAccount, namespace: services[j]!.namespace })),
      rules: [{ kind: 'HTTPRouteGroup', name: 'routes', matches: ['all'] }],
    },
  };
}

export function sliceObject(s: GenService, notReady: ReadonlySet<string> = new Set()): unknown {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${s.name}-abc`, namespace: s.namespace, labels: { 'kubernetes.io/service-name': s.name } },
    addressType: 'IPv4',
    endpoints: s.ips.map((a, k) => ({
      addresses: [a],
      conditions: { ready: !notReady.has(a) },
      targetRef: { kind: 'Pod', name: `${s.name}-${k}`, namespace: s.namespace },
    })),
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };
}

export interface MeshSettings {
  permissive: boolean;
  egress: boolean;
}

export function meshConfigObject(settings: MeshSettings = { permissive: false, egress: false }): unknown {
  return {
    apiVersion: 'config.trellismesh.io/v1alpha1',
    kind: 'MeshConfig',
    metadata: { name: 'trellis-mesh-config', namespace: 'trellis-system' },
    spec: { traffic: { enablePermissiveTrafficPolicyMode: settings.permissive, enableEgress: settings.egress } },
  };
}

export const targetFile = (mesh: GenMesh, s: GenService) => join(mesh.dir, 'targets', s.namespace, `${s.name}.yaml`);
export const sliceFile = (mesh: GenMesh, s: GenService) => join(mesh.dir, 'endpoints', s.namespace, `${s.name}.yaml`);

/** The mesh's objects grouped by the file (relative to the mesh directory) they are written to. */
export function buildMesh(serviceCount: number): Omit<GenMesh, 'dir' | 'meshConfigFile' | 'publish'> & { files: Map<string, unknown[]> } {
  const nsCount = Math.max(1, Math.ceil(serviceCount / SERVICES_PER_NAMESPACE));
  const namespaces = Array.from({ length: nsCount }, (_, i) => `bench-${String(i).padStart(3, '0')}`);
  const byNs = new Map<string, number[]>(namespaces.map((n) => [n, []]));
  let nextIp = 1;
  const services: GenService[] = [];
  for (let i = 0; i < serviceCount; i++) {
    const namespace = namespaces[i % nsCount]!;
    const pods = i % 3 === 0 ? 3 : 2;
    services.push({ index: i, name: serviceName(i), namespace, serviceAccount: serviceName(i), ips: Array.from({ length: pods }, () => ip(nextIp++)), sources: [] });
    byNs.get(namespace)!.push(i);
  }
  for (const members of byNs.values()) {
    members.forEach((i, k) => {
      for (let d = 1; d <= Math.min(SOURCES_PER_TARGET, members.length - 1); d++) services[i]!.sources.push(members[(k + d) % members.length]!);
    });
  }
  const splits: GenMesh['splits'] = [];
  for (const members of byNs.values()) {
    for (let k = 0; k + 2 < members.length; k += 10) {
      const [r, a, b] = [members[k]!, members[k + 1]!, members[k + 2]!];
      splits.push({ namespace: services[r]!.namespace, root: services[r]!.name, backends: [services[a]!.name, services[b]!.name] });
    }
  }
  const files = new Map<string, unknown[]>();
  const counts: Record<string, number> = { Namespace: nsCount, ServiceAccount: 0, Service: 0, Pod: 0, EndpointSlice: 0, TrafficTarget: 0, HTTPRouteGroup: nsCount, TrafficSplit: splits.length, MeshConfig: 1 };
  for (const ns of namespaces) {
    files.set(join('workloads', ns, '_namespace.yaml'), [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
      {
        apiVersion: 'specs.smi-spec.io/v1alpha4',
        kind: 'HTTPRouteGroup',
        metadata: { name: 'routes', namespace: ns },
        spec: { matches: [{ name: 'all', pathRegex: '.*', methods: ['*'] }] },
      },
    ]);
  }
  for (const s of services) {
    files.set(join('workloads', s.namespace, `${s.name}.yaml`), [
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: s.serviceAccount, namespace: s.namespace } },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: s.name, namespace: s.namespace },
        spec: { selector: { app: s.name }, ports: [{ name: 'http', port: 8080, targetPort: 8080, protocol: 'TCP', appProtocol: 'http' }] },
      },
      ...s.ips.map((a, k) => ({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `${s.name}-${k}`, namespace: s.namespace, labels: { app: s.name } },
        spec: { serviceAccountName: s.serviceAccount },
        status: { podIP: a },
      })),
    ]);
    counts.ServiceAccount! += 1;
    counts.Service! += 1;
    counts.Pod! += s.ips.length;
    files.set(join('endpoints', s.namespace, `${s.name}.yaml`), [sliceObject(s)]);
    counts.EndpointSlice! += 1;
    if (s.sources.length > 0) {
      files.set(join('targets', s.namespace, `${s.name}.yaml`), [targetObject(s, services)]);
      counts.TrafficTarget! += 1;
    }
  }
  files.set(
    join('splits', 'splits.yaml'),
    splits.map((sp) => ({
      apiVersion: 'split.smi-spec.io/v1alpha2',
      kind: 'TrafficSplit',
      metadata: { name: `${sp.root}-split`, namespace: sp.namespace },
      spec: { service: sp.root, backends: [{ service: sp.backends[0], weight: 90 }, { service: sp.backends[1], weight: 10 }] },
    })),
  );
  files.set('meshconfig.yaml', [meshConfigObject()]);
  return { services, namespaces, splits, counts, files };
}

/** Writes the mesh under `dir` (which must exist and be empty). */
export function generateMesh(dir: string, serviceCount: number): GenMesh {
  const { files, ...mesh } = buildMesh(serviceCount);
  for (const [rel, objs] of files) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), objs.length ? doc(objs) : '# none\n');
  }
  return { ...mesh, dir, meshConfigFile: join(dir, 'meshconfig.yaml'), publish: (file, obj) => writeManifest(file, YAML.stringify(obj)) };
}

/**
 * Rewrites a manifest in place (one write). Not write-to-temp-and-rename: with Node 20's recursive fs.watch on
 * Linux the file source notices only the first rename over a path, so repeated atomic saves would be missed
 * (reported to the source-file owner).
 */
export function writeManifest(file: string, content: string): void {
  writeFileSync(file, content);
}
