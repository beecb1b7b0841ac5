/**
 * `/debug/topology`: who may call whom, as the mesh page draws it. Allowed edges are read from the catalog's
 * own inbound views (the same objects the proxies' RBAC is generated from), so the page shows what the data
 * plane enforces, not a second interpretation of the TrafficTargets.
 */
import { identityKey } from '@trellis/plugin-sdk';
import type { Identity } from '@trellis/plugin-sdk';
import type { Catalog } from '../catalog/index.ts';
import { protocolOf } from '../catalog/index.ts';
import type { IgnoredObject, MeshStore, PolicyStatus } from '../store/index.ts';

/** The part of a connected proxy's status (`/debug/proxies`) the topology reads. */
export interface TopologyProxyInput {
  readonly nodeId: string;
  readonly kind: string;
  readonly identity: string;
  readonly protocol: string;
  readonly transport: string;
  readonly connectedSince: string;
  readonly types: Readonly<
    Record<
      string,
      {
        readonly lastSent?: { readonly version: string; readonly at: string };
        readonly lastAcked?: { readonly version: string; readonly at: string };
        readonly lastNack?: { readonly version: string; readonly message: string; readonly at: string };
      }
    >
  >;
}

/**
 * A request the data plane refused, as a source reports it. Nothing in the data path reports these today
 * (Envoy's RBAC denials stay in its stats and access log): `deniedAttempts` is the hook for one that will.
 */
export interface DeniedAttempt {
  readonly from: string;
  readonly to: string;
  readonly count: number;
  readonly reason?: string;
  readonly lastSeen?: string;
}

export interface TopologyInputs {
  readonly store: MeshStore;
  readonly catalog: Catalog;
  readonly proxies: () => readonly TopologyProxyInput[];
  readonly deniedAttempts?: () => readonly DeniedAttempt[];
}

export type SyncState = 'synced' | 'pending' | 'nack';

export interface TopologyNode {
  /** `svc:ns/name` or `id:ns/serviceAccount`. */
  readonly id: string;
  readonly type: 'service' | 'identity';
  readonly namespace: string;
  readonly name: string;
  readonly ports?: readonly { readonly port: number; readonly protocol: string; readonly name?: string }[];
  /** Identities: connected proxies by sync state. */
  readonly proxies?: { readonly total: number; readonly synced: number; readonly pending: number; readonly nack: number };
  /** An identity only named by a policy (no ServiceAccount or pod), or a split backend with no Service. */
  readonly missing?: boolean;
}

export interface RouteSummary {
  /** The HTTPRouteGroup match name (`*` for port-level access). */
  readonly name: string;
  readonly pathRegex: string;
  readonly methods: readonly string[];
  readonly headers?: readonly { readonly name: string; readonly valueRegex: string }[];
}

export interface TopologyEdge {
  readonly id: string;
  /** allow: identity -> service it may call; split: root service -> backend; backs: service -> identity behind it. */
  readonly type: 'allow' | 'split' | 'backs';
  readonly source: string;
  readonly target: string;
  /** allow: the TrafficTargets (`ns/name`) that admit it, the target ports and the HTTP routes. */
  readonly trafficTargets?: readonly string[];
  readonly ports?: readonly number[];
  readonly routes?: readonly RouteSummary[];
  /** split: the TrafficSplit (`ns/name`) and this backend's weight (and share of the total, 0..1). */
  readonly split?: string;
  readonly weight?: number;
  readonly share?: number;
}

export interface TopologyProxy {
  readonly nodeId: string;
  readonly kind: string;
  readonly identity: string;
  readonly protocol: string;
  readonly transport: string;
  readonly connectedSince: string;
  readonly sync: SyncState;
  readonly lastNack?: string;
}

export interface Topology {
  /** The store's generation: equal generations mean an equal mesh (statuses and proxies may still differ). */
  readonly generation: number;
  readonly permissive: boolean;
  readonly trustDomain: string;
  readonly namespaces: readonly { readonly name: string; readonly services: number; readonly identities: number }[];
  readonly nodes: readonly TopologyNode[];
  readonly edges: readonly TopologyEdge[];
  readonly policies: {
    readonly invalid: readonly PolicyStatus[];
    readonly ignored: readonly PolicyStatus[];
    readonly sourceErrors: readonly unknown[];
    readonly unknownObjects: readonly IgnoredObject[];
  };
  readonly proxies: readonly TopologyProxy[];
  readonly denied: readonly DeniedAttempt[];
}

const svcId = (ns: string, name: string): string => `svc:${ns}/${name}`;
const idId = (id: Identity): string => `id:${identityKey(id)}`;
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** A proxy is synced when every type it was sent is acked at that version; nack when the last answer was a NACK. */
export function syncState(p: TopologyProxyInput): { sync: SyncState; lastNack?: string } {
  let state: SyncState = 'synced';
  let lastNack: string | undefined;
  for (const t of Object.values(p.types)) {
    if (t.lastNack && (!t.lastAcked || t.lastNack.at >= t.lastAcked.at)) {
      state = 'nack';
      lastNack = t.lastNack.message;
    } else if (state !== 'nack' && t.lastSent && t.lastAcked?.version !== t.lastSent.version) state = 'pending';
  }
  return lastNack === undefined ? { sync: state } : { sync: state, lastNack };
}

export function buildTopology(inputs: TopologyInputs): Topology {
  const { store, catalog } = inputs;
  const settings = catalog.settings();
  const nodes = new Map<string, TopologyNode>();
  const edges = new Map<string, TopologyEdge & { trafficTargets: string[]; ports: number[]; routes: RouteSummary[] }>();

  for (const svc of store.list('Service')) {
    const ports = (svc.spec.ports ?? []).map((p) => ({ port: p.port, protocol: protocolOf(p), ...(p.name !== undefined && { name: p.name }) }));
    nodes.set(svcId(svc.metadata.namespace, svc.metadata.name), { id: svcId(svc.metadata.namespace, svc.metadata.name), type: 'service', namespace: svc.metadata.namespace, name: svc.metadata.name, ports });
  }
  const proxies = inputs.proxies().map((p) => ({ nodeId: p.nodeId, kind: p.kind, identity: p.identity, protocol: p.protocol, transport: p.transport, connectedSince: p.connectedSince, ...syncState(p) }));
  const proxyCounts = new Map<string, { total: number; synced: number; pending: number; nack: number }>();
  for (const p of proxies) {
    const c = proxyCounts.get(p.identity) ?? { total: 0, synced: 0, pending: 0, nack: 0 };
    c.total++;
    c[p.sync]++;
    proxyCounts.set(p.identity, c);
  }
  const addIdentity = (id: Identity, missing: boolean): string => {
    const key = idId(id);
    if (!nodes.has(key)) {
      const counts = proxyCounts.get(identityKey(id));
      nodes.set(key, { id: key, type: 'identity', namespace: id.namespace, name: id.serviceAccount, ...(counts && { proxies: counts }), ...(missing && { missing: true }) });
    }
    return key;
  };
  const identities = catalog.identities();
  for (const id of identities) addIdentity(id, false);
  for (const key of proxyCounts.keys()) {
    const slash = key.indexOf('/');
    addIdentity({ namespace: key.slice(0, slash), serviceAccount: key.slice(slash + 1) }, true);
  }

  const known = new Set(identities.map(idId));
  const allowEdge = (from: Identity, to: string) => {
    const source = addIdentity(from, !known.has(idId(from)));
    const id = `allow:${source}->${to}`;
    let e = edges.get(id);
    if (!e) edges.set(id, (e = { id, type: 'allow', source, target: to, trafficTargets: [], ports: [], routes: [] }));
    return e;
  };
  for (const id of identities) {
    const view = catalog.viewFor(id);
    for (const port of view.inbound) {
      const target = svcId(port.service.namespace, port.service.name);
      const backs = `backs:${target}->${idId(id)}`;
      edges.set(backs, { id: backs, type: 'backs', source: target, target: idId(id), trafficTargets: [], ports: [], routes: [] });
      if (settings.permissive) continue;
      for (const tt of port.tcpPolicies) {
        if (tt.ports !== 'any' && !tt.ports.includes(port.service.targetPort)) continue;
        for (const p of tt.principals) {
          const e = allowEdge(p, target);
          if (!e.trafficTargets.includes(tt.name)) e.trafficTargets.push(tt.name);
          if (!e.ports.includes(port.service.targetPort)) e.ports.push(port.service.targetPort);
        }
      }
      for (const r of port.routes) {
        if (r.principals === 'any') continue;
        const route: RouteSummary = { name: r.match.name, pathRegex: r.match.pathRegex, methods: r.match.methods, ...(r.match.headers.length > 0 && { headers: r.match.headers }) };
        for (const p of r.principals) {
          const e = allowEdge(p, target);
          if (!e.routes.some((x) => JSON.stringify(x) === JSON.stringify(route))) e.routes.push(route);
        }
      }
    }
  }

  for (const sp of store.list('TrafficSplit')) {
    const ns = sp.metadata.namespace;
    if (store.splitFor(ns, sp.spec.service) !== sp) continue;
    const root = svcId(ns, sp.spec.service);
    const total = sp.spec.backends.reduce((n, b) => n + b.weight, 0);
    for (const b of sp.spec.backends) {
      const target = svcId(ns, b.service);
      if (!nodes.has(target)) nodes.set(target, { id: target, type: 'service', namespace: ns, name: b.service, missing: true });
      if (!nodes.has(root)) nodes.set(root, { id: root, type: 'service', namespace: ns, name: sp.spec.service, missing: true });
      const id = `split:${root}->${target}`;
      edges.set(id, { id, type: 'split', source: root, target, split: `${ns}/${sp.metadata.name}`, weight: b.weight, share: total > 0 ? b.weight / total : 0, trafficTargets: [], ports: [], routes: [] });
    }
  }

  const namespaces = new Map<string, { name: string; services: number; identities: number }>();
  for (const n of nodes.values()) {
    const c = namespaces.get(n.namespace) ?? { name: n.namespace, services: 0, identities: 0 };
    if (n.type === 'service') c.services++;
    else c.identities++;
    namespaces.set(n.namespace, c);
  }
  const statuses = store.policyStatuses();
  return {
    generation: store.generation,
    permissive: settings.permissive,
    trustDomain: settings.trustDomain,
    namespaces: [...namespaces.values()].sort((a, b) => cmp(a.name, b.name)),
    nodes: [...nodes.values()].sort((a, b) => cmp(a.id, b.id)),
    edges: [...edges.values()]
      .map((e) => {
        const { trafficTargets, ports, routes, ...rest } = e;
        if (e.type !== 'allow') return rest;
        return { ...rest, trafficTargets: trafficTargets.sort(), ports: ports.sort((a, b) => a - b), routes: routes.sort((a, b) => cmp(a.name, b.name) || cmp(a.pathRegex, b.pathRegex)) };
      })
      .sort((a, b) => cmp(a.id, b.id)),
    policies: {
      invalid: statuses.filter((s) => s.status === 'invalid'),
      ignored: statuses.filter((s) => s.status === 'ignored'),
      sourceErrors: store.sourceErrors(),
      unknownObjects: store.ignoredObjects(),
    },
    proxies: proxies.sort((a, b) => cmp(a.nodeId, b.nodeId)),
    denied: [...(inputs.deniedAttempts?.() ?? [])],
  };
}
