/**
 * Which identities' views a store change can alter. Computed right after the change is applied, so the store
 * holds the new state; the change's `old` object stands in for the state before. Complete by construction
 * (see the property test), small where the SMI graph allows: a workload change reaches the workload's own
 * identities and the identities allowed to call its services; a policy change reaches its destination and
 * sources. 'all' only for mesh-wide switches (permissive mode, egress, trust domain) and for service-level
 * changes in permissive mode, where every identity reaches every service.
 */
import { identityKey } from '@trellis/plugin-sdk';
import type { Identity, KubeObject } from '@trellis/plugin-sdk';
import { podIPs, podServiceAccount } from '../store/index.ts';
import type {
  EndpointSliceObj,
  EgressObj,
  EndpointsObj,
  IngressBackendObj,
  MeshConfigSettings,
  MeshStore,
  PodObj,
  RetryObj,
  ServiceObj,
  StoreChange,
  TrafficSplitObj,
  TrafficTargetObj,
  UpstreamTrafficSettingObj,
} from '../store/index.ts';
import type { MeshSettingsService } from '../settings/index.ts';
import { buildServiceModel, endpointIdentity } from './model.ts';
import { servicesOfIngress, servicesOfSettings } from './policies.ts';
import { isActiveTarget } from './views.ts';

export type Affected = Set<string> | 'all';

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

function viewSettingsEqual(a: MeshConfigSettings, b: MeshConfigSettings): boolean {
  return a.permissive === b.permissive && a.egress === b.egress && a.trustDomain === b.trustDomain && JSON.stringify(a.telemetry) === JSON.stringify(b.telemetry);
}

export function computeAffected(store: MeshStore, settings: MeshSettingsService, change: StoreChange): Affected {
  const out = new Set<string>();
  const permissive = settings.current().permissive;
  const both = <T>(): T[] => [change.old, change.new].filter((o): o is KubeObject => o !== undefined) as T[];
  switch (change.kind) {
    case 'MeshConfig': {
      // Before and after both over the config file's defaults: a MeshConfig restating the default changes nothing,
      // one that differs from it (the trust domain above all) changes every view.
      return viewSettingsEqual(settings.before(change), settings.current()) ? out : 'all';
    }
    case 'Namespace':
    case 'ServiceAccount':
      // Views do not read them (a ServiceAccount only adds to `identities()`).
      return out;
    case 'Pod': {
      const pods = both<PodObj>();
      const owners: Identity[] = pods.map((p) => ({ namespace: p.metadata.namespace, serviceAccount: podServiceAccount(p) }));
      // Pods sharing an IP with it: an endpoint found by IP only may have pointed at them before (or now
      // does not, being ambiguous).
      for (const p of pods) for (const ip of podIPs(p)) for (const other of store.podsWithIP(ip)) owners.push({ namespace: other.metadata.namespace, serviceAccount: podServiceAccount(other) });
      const services = new Map<string, ServiceObj>();
      for (const p of pods) {
        for (const s of store.servicesSelecting(p)) services.set(`${s.metadata.namespace}/${s.metadata.name}`, s);
        for (const sl of store.slicesReferencing(p.metadata.namespace, p.metadata.name, podIPs(p))) addNamed(store, services, sl.metadata.namespace, sl.metadata.labels?.[SERVICE_NAME_LABEL]);
        for (const ep of endpointsReferencing(store, p)) addNamed(store, services, ep.metadata.namespace, ep.metadata.name);
      }
      return serviceImpact(store, [...services.values()], owners, permissive, out);
    }
    case 'Service':
      return serviceImpact(store, both<ServiceObj>(), [], permissive, out);
    case 'EndpointSlice':
    case 'Endpoints': {
      const services = new Map<string, ServiceObj>();
      const owners: Identity[] = [];
      for (const o of both<EndpointSliceObj & EndpointsObj>()) {
        const ns = o.metadata.namespace;
        addNamed(store, services, ns, change.kind === 'Endpoints' ? o.metadata.name : o.metadata.labels?.[SERVICE_NAME_LABEL]);
        for (const e of o.endpoints ?? []) for (const ip of e.addresses) pushId(owners, endpointIdentity(store, ns, ip, e.targetRef).identity);
        for (const sub of o.subsets ?? [])
          for (const a of [...(sub.addresses ?? []), ...(sub.notReadyAddresses ?? [])]) pushId(owners, endpointIdentity(store, ns, a.ip, a.targetRef).identity);
      }
      // Endpoints only count for a service without slices; listing it anyway over-approximates safely.
      return serviceImpact(store, [...services.values()], owners, permissive, out);
    }
    case 'TrafficTarget': {
      if (permissive) return out; // permissive views ignore TrafficTargets
      for (const tt of both<TrafficTargetObj>()) {
        out.add(identityKey({ namespace: tt.spec.destination.namespace, serviceAccount: tt.spec.destination.name }));
        for (const s of tt.spec.sources) out.add(identityKey({ namespace: s.namespace, serviceAccount: s.name }));
      }
      return out;
    }
    case 'HTTPRouteGroup':
    case 'TCPRoute':
    case 'UDPRoute': {
      const ref = change.old ?? change.new;
      if (!ref) return out;
      const ns = ref.metadata.namespace ?? '';
      const name = ref.metadata.name;
      if (!permissive)
        for (const tt of store.list('TrafficTarget', ns))
          if (isActiveTarget(tt) && tt.spec.rules.some((r) => r.kind === change.kind && r.name === name))
            out.add(identityKey({ namespace: tt.spec.destination.namespace, serviceAccount: tt.spec.destination.name }));
      if (change.kind === 'HTTPRouteGroup')
        for (const e of store.list('Egress', ns))
          if (e.spec.matches?.some((m) => m.name === name)) for (const s of e.spec.sources) out.add(identityKey({ namespace: s.namespace, serviceAccount: s.name }));
      if (change.kind === 'HTTPRouteGroup')
        for (const split of store.list('TrafficSplit', ns))
          if (split.spec.matches?.some((m) => m.name === name)) {
            if (permissive) return 'all';
            addSplitClients(store, split, out);
          }
      return out;
    }
    case 'HTTPRoute':
    case 'GRPCRoute':
      // Routes attach by parent Service, consumer namespace and reachable backends: every view may change.
      return 'all';
    case 'TrafficSplit': {
      if (permissive) return 'all';
      for (const split of both<TrafficSplitObj>()) {
        addSplitClients(store, split, out);
        // The winner for this root may have changed: clients of any split on the same root.
        for (const other of store.list('TrafficSplit', split.metadata.namespace)) if (other.spec.service === split.spec.service) addSplitClients(store, other, out);
      }
      return out;
    }
    case 'Retry':
      // A Retry is read only by its source's view.
      for (const r of both<RetryObj>()) out.add(identityKey({ namespace: r.spec.source.namespace, serviceAccount: r.spec.source.name }));
      return out;
    case 'UpstreamTrafficSetting':
      return serviceImpact(store, servicesOfSettings(store, both<UpstreamTrafficSettingObj>()), [], permissive, out);
    case 'Egress':
      // Read only by its sources' views.
      for (const e of both<EgressObj>()) for (const s of e.spec.sources) out.add(identityKey({ namespace: s.namespace, serviceAccount: s.name }));
      return out;
    case 'IngressBackend':
      // Read only by the backends' own views (their inbound ports).
      addOwners(store, servicesOfIngress(both<IngressBackendObj>()).backends, out);
      return out;
  }
}

/**
 * `ns/name` of the services whose model (ports, endpoints, identities) a workload change can alter:
 * the Service itself; for a Pod, services selecting it (before or after) and those whose endpoints name it
 * or its IPs; for EndpointSlice/Endpoints, the service they belong to.
 */
export function touchedServices(store: MeshStore, change: StoreChange): Set<string> {
  const out = new Set<string>();
  const objs = [change.old, change.new].filter((o): o is KubeObject => o !== undefined);
  for (const o of objs) {
    const ns = o.metadata.namespace ?? '';
    switch (change.kind) {
      case 'Service':
      case 'Endpoints':
        out.add(`${ns}/${o.metadata.name}`);
        break;
      case 'EndpointSlice': {
        const svc = o.metadata.labels?.[SERVICE_NAME_LABEL];
        if (svc) out.add(`${ns}/${svc}`);
        break;
      }
      case 'Pod': {
        const p = o as PodObj;
        for (const s of store.servicesSelecting(p)) out.add(`${s.metadata.namespace}/${s.metadata.name}`);
        for (const sl of store.slicesReferencing(ns, p.metadata.name, podIPs(p))) {
          const svc = sl.metadata.labels?.[SERVICE_NAME_LABEL];
          if (svc) out.add(`${sl.metadata.namespace}/${svc}`);
        }
        for (const ep of endpointsReferencing(store, p)) out.add(`${ep.metadata.namespace}/${ep.metadata.name}`);
        break;
      }
      default:
        break;
    }
  }
  return out;
}

/** The identities behind the named services (`ns/name`). */
function addOwners(store: MeshStore, services: Iterable<string>, out: Set<string>): void {
  for (const k of services) {
    const slash = k.indexOf('/');
    const svc = store.get('Service', k.slice(0, slash), k.slice(slash + 1));
    if (!svc) continue;
    for (const id of buildServiceModel(store, svc).identities) out.add(identityKey(id));
    for (const id of candidateOwners(store, svc)) out.add(identityKey(id));
  }
}

function pushId(ids: Identity[], id: Identity | undefined): void {
  if (id) ids.push(id);
}

function addNamed(store: MeshStore, m: Map<string, ServiceObj>, ns: string, name: string | undefined): void {
  if (!name) return;
  const s = store.get('Service', ns, name);
  if (s) m.set(`${ns}/${name}`, s);
}

function endpointsReferencing(store: MeshStore, pod: PodObj): EndpointsObj[] {
  const ips = new Set(podIPs(pod));
  return store.list('Endpoints').filter((e) =>
    (e.subsets ?? []).some((sub) =>
      [...(sub.addresses ?? []), ...(sub.notReadyAddresses ?? [])].some((a) => ips.has(a.ip) || (a.targetRef?.name === pod.metadata.name && (a.targetRef.namespace ?? e.metadata.namespace) === pod.metadata.namespace)),
    ),
  );
}

/**
 * Every identity an endpoint address of the service could resolve to (its targetRef pod, any pod with its
 * IP): with the changed object's old and new versions, this covers the service's identities before the change.
 */
function candidateOwners(store: MeshStore, svc: ServiceObj): Identity[] {
  const ns = svc.metadata.namespace;
  const ids: Identity[] = [];
  const add = (ip: string, ref?: { kind?: string; name: string; namespace?: string }): void => {
    for (const p of store.podsWithIP(ip)) ids.push({ namespace: p.metadata.namespace, serviceAccount: podServiceAccount(p) });
    const pod = ref && (ref.kind === undefined || ref.kind === 'Pod') ? store.get('Pod', ref.namespace ?? ns, ref.name) : undefined;
    if (pod) ids.push({ namespace: pod.metadata.namespace, serviceAccount: podServiceAccount(pod) });
  };
  for (const sl of store.slicesOfService(ns, svc.metadata.name)) for (const e of sl.endpoints ?? []) for (const ip of e.addresses) add(ip, e.targetRef);
  const eps = store.get('Endpoints', ns, svc.metadata.name);
  for (const sub of eps?.subsets ?? []) for (const a of [...(sub.addresses ?? []), ...(sub.notReadyAddresses ?? [])]) add(a.ip, a.targetRef);
  return ids;
}

/** Sources of active TrafficTargets whose destination is one of `owners`. */
function reachersOf(store: MeshStore, owners: Iterable<string>, out: Set<string>): void {
  const byNs = new Map<string, Set<string>>();
  for (const o of owners) {
    const ns = o.slice(0, o.indexOf('/'));
    let s = byNs.get(ns);
    if (!s) byNs.set(ns, (s = new Set()));
    s.add(o.slice(o.indexOf('/') + 1));
  }
  for (const [ns, sas] of byNs)
    for (const tt of store.list('TrafficTarget', ns))
      if (isActiveTarget(tt) && sas.has(tt.spec.destination.name)) for (const s of tt.spec.sources) out.add(identityKey({ namespace: s.namespace, serviceAccount: s.name }));
}

/** Clients whose view of a split's root can depend on it: those who reach any of its backends. */
function addSplitClients(store: MeshStore, split: TrafficSplitObj, out: Set<string>): void {
  const owners = new Set<string>();
  for (const b of split.spec.backends) {
    const svc = store.get('Service', split.metadata.namespace, b.service);
    if (svc) for (const id of buildServiceModel(store, svc).identities) owners.add(identityKey(id));
  }
  reachersOf(store, owners, out);
}

/**
 * A change to these services (their ports, endpoints or the identities behind them): their owners (before
 * and after) see new inbound/local data; every client that may reach them, directly or through a split on
 * them or that they back, sees new outbound data.
 */
function serviceImpact(store: MeshStore, services: readonly ServiceObj[], extraOwners: readonly Identity[], permissive: boolean, out: Set<string>): Affected {
  // Views see workloads only through services: no service, no view change.
  if (services.length === 0) return out;
  if (permissive) return 'all';
  const owners = new Set(extraOwners.map(identityKey));
  for (const svc of services) {
    for (const id of buildServiceModel(store, svc).identities) owners.add(identityKey(id));
    for (const id of candidateOwners(store, svc)) owners.add(identityKey(id));
  }
  for (const o of owners) out.add(o);
  reachersOf(store, owners, out);
  // IngressBackends admit their Service sources' endpoint addresses: the backends' views read them.
  const changed = new Set(services.map((s) => `${s.metadata.namespace}/${s.metadata.name}`));
  for (const ib of store.list('IngressBackend'))
    if (ib.spec.sources.some((src) => src.kind === 'Service' && changed.has(`${src.namespace}/${src.name}`))) addOwners(store, servicesOfIngress([ib]).backends, out);
  for (const svc of services)
    for (const split of store.list('TrafficSplit', svc.metadata.namespace))
      if (split.spec.service === svc.metadata.name || split.spec.backends.some((b) => b.service === svc.metadata.name)) addSplitClients(store, split, out);
  return out;
}
