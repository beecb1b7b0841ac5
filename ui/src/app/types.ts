// The JSON of GET /debug/topology (core/src/admin/topology.ts), as far as the page reads it.

export interface TopoNode {
  id: string;
  type: 'service' | 'identity';
  namespace: string;
  name: string;
  ports?: { port: number; protocol: string; name?: string }[];
  proxies?: { total: number; synced: number; pending: number; nack: number };
  missing?: boolean;
}

export interface TopoRoute {
  name: string;
  pathRegex: string;
  methods: string[];
  headers?: { name: string; valueRegex: string }[];
}

export interface TopoEdge {
  id: string;
  type: 'allow' | 'split' | 'backs';
  source: string;
  target: string;
  trafficTargets?: string[];
  ports?: number[];
  routes?: TopoRoute[];
  split?: string;
  weight?: number;
  share?: number;
}

export interface PolicyStatus {
  kind: string;
  namespace: string;
  name: string;
  status: 'accepted' | 'ignored' | 'invalid';
  reason?: string;
  source?: string;
  file?: string;
  line?: number;
}

export interface TopoProxy {
  nodeId: string;
  kind: string;
  identity: string;
  protocol: string;
  transport: string;
  connectedSince: string;
  sync: 'synced' | 'pending' | 'nack';
  lastNack?: string;
}

export interface Topology {
  generation: number;
  permissive: boolean;
  trustDomain: string;
  namespaces: { name: string; services: number; identities: number }[];
  nodes: TopoNode[];
  edges: TopoEdge[];
  policies: {
    invalid: PolicyStatus[];
    ignored: PolicyStatus[];
    sourceErrors: { source?: string; file?: string; line?: number; message?: string }[];
    unknownObjects: { apiVersion: string; kind: string; namespace?: string; name: string; reason: string; source: string }[];
  };
  proxies: TopoProxy[];
  denied: { from: string; to: string; count: number; reason?: string; lastSeen?: string }[];
}

/** The answer of GET /debug/explain (contract with the CLI's `policy explain`): at least these two fields. */
export interface ExplainAnswer {
  allowed: boolean;
  reasons: string[];
  [k: string]: unknown;
}
