import {
  ErrorCodes,
  extensionPoints,
  KIND_EXTENSION_POINTS,
  type ErrorCode,
  type ExtensionPoint,
  type ServiceRef,
} from '@trellis/plugin-sdk';
import type { ConfiguredPlugin } from '../config/load.ts';

/** What a component (a plugin instance or a core part) declares: what it provides and what it needs. */
export interface GraphNode {
  readonly name: string;
  readonly type: 'plugin' | 'core';
  /** `plugins.sources[0]` for plugins, `core` for core parts: where a problem is reported. */
  readonly origin: string;
  readonly provides: readonly ServiceRef<unknown>[];
  /** Services it needs, by the key it names them with (`deps.<key>`). */
  readonly needs: readonly { readonly key: string; readonly ref: ServiceRef<unknown> }[];
  /** Extension points it fills; `key` when the key is known before starting (a proxy's node kind). */
  readonly contributes: readonly { readonly point: ExtensionPoint<unknown>; readonly key?: string }[];
  /** Extension points it reads: it starts after every contributor; a required single slot must be filled. */
  readonly consumes: readonly ExtensionPoint<unknown>[];
}

export interface GraphProblem {
  readonly code: ErrorCode;
  readonly path: string;
  readonly message: string;
}

export interface GraphPlan {
  /** Start order (dependencies first); stop in reverse. Empty when there are problems. */
  readonly order: readonly GraphNode[];
  readonly problems: readonly GraphProblem[];
}

const label = (n: GraphNode): string => (n.type === 'plugin' ? `plugin "${n.name}" (${n.origin})` : `core part "${n.name}"`);

/** The graph node of a configured plugin, from its definition alone (nothing is created). */
export function pluginNode(cp: ConfiguredPlugin): GraphNode {
  const def = cp.definition;
  const kindPoint = KIND_EXTENSION_POINTS[cp.kind] as ExtensionPoint<unknown>;
  return {
    name: cp.instanceName,
    type: 'plugin',
    origin: cp.path,
    provides: def.provides ?? [],
    needs: Object.entries((def.deps ?? {}) as Record<string, ServiceRef<unknown>>).map(([key, ref]) => ({ key, ref })),
    contributes: [
      { point: kindPoint, ...(cp.kind === 'proxy' && def.nodeKind ? { key: def.nodeKind } : {}) },
      ...(def.extends ?? []).map((point) => ({ point })),
      ...(def.commands ?? []).map((c) => ({ point: extensionPoints.cliCommands, key: c.name })),
    ],
    // Objects of plugin policy kinds are validated as they arrive: their kinds must exist before a source starts.
    consumes: cp.kind === 'source' ? [extensionPoints.policyKinds] : [],
  };
}

/**
 * Checks the component graph and orders it: every needed service has exactly one provider, single slots and
 * keyed slots have no clashes, required slots are filled, and there is no cycle. Ties keep the given order,
 * so the start order is deterministic. `given` are the services the kernel itself registers.
 */
export function planGraph(nodes: readonly GraphNode[], given: readonly ServiceRef<unknown>[]): GraphPlan {
  const problems: GraphProblem[] = [];
  const givenIds = new Set(given.map((r) => r.id));
  const providerOf = new Map<string, GraphNode>();
  for (const n of nodes) {
    for (const ref of n.provides) {
      const prior = providerOf.get(ref.id);
      if (prior || givenIds.has(ref.id)) {
        problems.push({
          code: ErrorCodes.SERVICE_ALREADY_REGISTERED,
          path: n.origin,
          message: `${label(n)} provides service "${ref.id}", which ${prior ? label(prior) : 'the kernel'} already provides`,
        });
      } else providerOf.set(ref.id, n);
    }
  }

  const contributors = new Map<string, GraphNode[]>();
  const keys = new Map<string, Map<string, GraphNode>>();
  for (const n of nodes) {
    for (const { point, key } of n.contributes) {
      const list = contributors.get(point.id) ?? [];
      if (point.cardinality === 'single' && list.length > 0) {
        const first = list[0] as GraphNode;
        problems.push({
          code: ErrorCodes.EXTENSION_CONFLICT,
          path: n.origin,
          message: `"${point.id}" takes exactly one provider, but ${label(first)} and ${label(n)} both provide it`,
        });
      }
      if (key !== undefined) {
        const byKey = keys.get(point.id) ?? new Map<string, GraphNode>();
        const prior = byKey.get(key);
        if (prior)
          problems.push({
            code: ErrorCodes.EXTENSION_CONFLICT,
            path: n.origin,
            message: `${label(prior)} and ${label(n)} both claim ${point.keyName ?? 'key'} "${key}" of "${point.id}"`,
          });
        else byKey.set(key, n);
        keys.set(point.id, byKey);
      }
      list.push(n);
      contributors.set(point.id, list);
    }
  }

  const deps = new Map<GraphNode, Set<GraphNode>>();
  for (const n of nodes) {
    const d = new Set<GraphNode>();
    for (const { key, ref } of n.needs) {
      if (givenIds.has(ref.id)) continue;
      const p = providerOf.get(ref.id);
      if (!p)
        problems.push({
          code: ErrorCodes.PLUGIN_DEPENDENCY_MISSING,
          path: n.origin,
          message: `${label(n)} needs service "${ref.id}" (deps.${key}), which no configured plugin or core part provides`,
        });
      else if (p !== n) d.add(p);
    }
    for (const point of n.consumes) {
      const list = contributors.get(point.id) ?? [];
      if (list.length === 0 && point.cardinality === 'single' && point.requiredAt)
        problems.push({
          code: ErrorCodes.PROVIDER_MISSING,
          path: point.requiredAt,
          message: `nothing provides "${point.id}", which ${label(n)} requires: configure one plugin at ${point.requiredAt}`,
        });
      for (const c of list) if (c !== n) d.add(c);
    }
    deps.set(n, d);
  }

  const order: GraphNode[] = [];
  const placed = new Set<GraphNode>();
  const pending = [...nodes];
  while (pending.length > 0) {
    const i = pending.findIndex((n) => [...(deps.get(n) ?? [])].every((d) => placed.has(d)));
    if (i < 0) break;
    const [n] = pending.splice(i, 1) as [GraphNode];
    placed.add(n);
    order.push(n);
  }
  const [stuck] = pending;
  if (stuck) {
    const cycle = findCycle(stuck, new Set(pending), deps);
    const at = cycle.find((n) => n.type === 'plugin') ?? stuck;
    problems.push({
      code: ErrorCodes.PLUGIN_DEPENDENCY_CYCLE,
      path: at.origin,
      message: `dependency cycle: ${[...cycle, cycle[0] ?? stuck].map(label).join(' -> ')}`,
    });
  }
  return { order: problems.length ? [] : order, problems };
}

/** One cycle among nodes none of which could be placed (each waits on another of them). */
function findCycle(start: GraphNode, inPending: ReadonlySet<GraphNode>, deps: ReadonlyMap<GraphNode, ReadonlySet<GraphNode>>): GraphNode[] {
  const path: GraphNode[] = [];
  let n = start;
  while (!path.includes(n)) {
    path.push(n);
    const next = [...(deps.get(n) ?? [])].find((d) => inPending.has(d));
    if (!next) return path;
    n = next;
  }
  return path.slice(path.indexOf(n));
}
