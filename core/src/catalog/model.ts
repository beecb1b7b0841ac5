/**
 * The service model over the store: each Service port is a mesh service with a protocol, endpoints and the
 * identities behind it. Endpoint identity comes from the endpoint's `targetRef` pod first and from the pod IP
 * only as a fallback (several local-process pods may share 127.0.0.1, so IPs can be ambiguous).
 */
import { identityKey } from '@trellis/plugin-sdk';
import type { Identity, MeshEndpoint, MeshServicePort } from '@trellis/plugin-sdk';
import { podServiceAccount, selects } from '../store/index.ts';
import type { EndpointsObj, MeshStore, ObjectRef, ServiceObj, ServicePortSpec, SlicePort } from '../store/index.ts';
import { protocolOf } from './protocol.ts';

export interface ServiceModel {
  readonly svc: ServiceObj;
  readonly ports: readonly { readonly port: MeshServicePort; readonly endpoints: readonly MeshEndpoint[] }[];
  /** Identities behind the service: endpoints' pods and pods its selector matches. Sorted by key. */
  readonly identities: readonly Identity[];
}

export function sortIdentities(ids: Iterable<Identity>): Identity[] {
  const m = new Map<string, Identity>();
  for (const id of ids) m.set(identityKey(id), { namespace: id.namespace, serviceAccount: id.serviceAccount });
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
}

function compareEndpoints(a: MeshEndpoint, b: MeshEndpoint): number {
  return a.ip.localeCompare(b.ip) || a.port - b.port || (a.podName ?? '').localeCompare(b.podName ?? '');
}

/** The identity behind one endpoint address: its targetRef pod, else the only identity of pods with that IP. */
export function endpointIdentity(store: MeshStore, namespace: string, ip: string, ref?: ObjectRef): { identity?: Identity; podName?: string } {
  if (ref && (ref.kind === undefined || ref.kind === 'Pod')) {
    const pod = store.get('Pod', ref.namespace ?? namespace, ref.name);
    if (pod) return { identity: { namespace: pod.metadata.namespace, serviceAccount: podServiceAccount(pod) }, podName: pod.metadata.name };
  }
  const ids = sortIdentities(store.podsWithIP(ip).map((p) => ({ namespace: p.metadata.namespace, serviceAccount: podServiceAccount(p) })));
  const only = ids.length === 1 ? ids[0] : undefined;
  return only ? { identity: only } : {};
}

function slicePortFor(ports: readonly SlicePort[] | undefined, sp: ServicePortSpec, servicePortCount: number): number | undefined {
  const list = ports ?? [];
  const byName = list.find((p) => (p.name ?? '') === (sp.name ?? ''));
  if (byName?.port !== undefined) return byName.port;
  if (servicePortCount === 1 && list.length === 1) return list[0]?.port;
  return undefined;
}

/** The numeric targetPort: as written, else resolved from endpoints or pods (named targetPort), else port. */
function resolveTargetPort(store: MeshStore, svc: ServiceObj, sp: ServicePortSpec, portLists: readonly (readonly SlicePort[] | undefined)[]): number {
  if (typeof sp.targetPort === 'number') return sp.targetPort;
  for (const ports of portLists) {
    const p = slicePortFor(ports, sp, svc.spec.ports.length);
    if (p !== undefined) return p;
  }
  if (typeof sp.targetPort === 'string') {
    for (const pod of store.list('Pod', svc.metadata.namespace).filter((p) => selects(svc, p.metadata.labels ?? {})))
      for (const c of pod.spec?.containers ?? []) for (const cp of c.ports ?? []) if (cp.name === sp.targetPort) return cp.containerPort;
  }
  return sp.port;
}

export function buildServiceModel(store: MeshStore, svc: ServiceObj): ServiceModel {
  const ns = svc.metadata.namespace;
  const slices = store.slicesOfService(ns, svc.metadata.name).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  const endpointsObj: EndpointsObj | undefined = slices.length === 0 ? store.get('Endpoints', ns, svc.metadata.name) : undefined;
  const ids: Identity[] = [];
  const ports = (svc.spec.ports ?? []).map((sp) => {
    const targetPort = resolveTargetPort(store, svc, sp, [...slices.map((x) => x.ports), ...(endpointsObj?.subsets ?? []).map((x) => x.ports)]);
    const port: MeshServicePort = {
      namespace: ns,
      name: svc.metadata.name,
      port: sp.port,
      targetPort,
      protocol: protocolOf(sp),
      ...(sp.name !== undefined && { portName: sp.name }),
    };
    const eps = new Map<string, MeshEndpoint>();
    const add = (ip: string, p: number, ready: boolean, ref?: ObjectRef): void => {
      const who = endpointIdentity(store, ns, ip, ref);
      if (who.identity) ids.push(who.identity);
      const ep: MeshEndpoint = { ip, port: p, ready, ...(who.identity && { identity: who.identity }), ...(who.podName !== undefined && { podName: who.podName }) };
      const k = `${ip}|${p}|${who.podName ?? ''}`;
      if (!eps.has(k) || ready) eps.set(k, ep);
    };
    for (const s of slices) {
      const p = slicePortFor(s.ports, sp, svc.spec.ports.length) ?? targetPort;
      for (const e of s.endpoints ?? []) for (const ip of e.addresses) add(ip, p, e.conditions?.ready !== false, e.targetRef);
    }
    for (const subset of endpointsObj?.subsets ?? []) {
      const p = slicePortFor(subset.ports, sp, svc.spec.ports.length) ?? targetPort;
      for (const a of subset.addresses ?? []) add(a.ip, p, true, a.targetRef);
      for (const a of subset.notReadyAddresses ?? []) add(a.ip, p, false, a.targetRef);
    }
    return { port, endpoints: [...eps.values()].sort(compareEndpoints) };
  });
  for (const pod of store.list('Pod', ns)) if (selects(svc, pod.metadata.labels ?? {})) ids.push({ namespace: ns, serviceAccount: podServiceAccount(pod) });
  return { svc, ports: ports.sort((a, b) => a.port.port - b.port.port), identities: sortIdentities(ids) };
}

export { compareEndpoints };
