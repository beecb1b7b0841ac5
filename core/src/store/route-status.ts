/**
 * Gateway API route status as Trellis computes it (the Kubernetes source may write it back): per Service
 * parentRef the `Accepted` and `ResolvedRefs` conditions with the spec's reasons. Computed when read, so it
 * follows Services coming and going.
 */
import type { RouteParentStatusView, RouteStatusService, RouteStatusView } from '@trellis/plugin-sdk';
import type { StoreChange } from './events.ts';
import type { GatewayRouteObj, RouteParentRef } from './gateway-kinds.ts';
import type { KindMap, MeshKind } from './kinds.ts';

type Lookup = <K extends MeshKind>(kind: K, namespace: string, name: string) => KindMap[K] | undefined;

/** One condition of one parent (`status.parents[].conditions[]` in the Gateway API). @public */
export interface RouteCondition {
  readonly type: 'Accepted' | 'ResolvedRefs';
  readonly status: 'True' | 'False';
  readonly reason: string;
  readonly message?: string;
}

/** A route's status for one parentRef. @public */
export interface RouteParentStatus {
  /** `Service ns/name[:port]`. */
  readonly parentRef: string;
  /** The controller name Trellis reports under. */
  readonly controllerName: string;
  readonly conditions: readonly RouteCondition[];
}

export const GAMMA_CONTROLLER_NAME = 'trellismesh.io/gamma-controller';

export function parentRefText(p: RouteParentRef): string {
  return `Service ${p.namespace}/${p.name}${p.port !== undefined ? `:${p.port}` : ''}`;
}

/** Problems with the route's backendRefs (and mirror targets), the same for every parent. */
export function backendProblems(route: GatewayRouteObj, get: Lookup): { reason: string; message: string }[] {
  const out: { reason: string; message: string }[] = [];
  route.spec.rules.forEach((rule, i) => {
    const refs = [
      ...rule.backendRefs.map((b, j) => ({ ref: b, field: `spec.rules[${i}].backendRefs[${j}]` })),
      ...rule.filters.flatMap((f, j) => (f.mirror ? [{ ref: f.mirror.backendRef, field: `spec.rules[${i}].filters[${j}].requestMirror.backendRef` }] : [])),
    ];
    for (const { ref, field } of refs) {
      if (ref.group !== '' || ref.kind !== 'Service') {
        out.push({ reason: 'InvalidKind', message: `${field}: ${ref.group || 'core'}/${ref.kind} is not a Service (the only backend kind Trellis resolves)` });
        continue;
      }
      const svc = get('Service', ref.namespace, ref.name);
      if (!svc) out.push({ reason: 'BackendNotFound', message: `${field}: Service ${ref.namespace}/${ref.name} does not exist (its share gets HTTP 500 until it does)` });
      else if (ref.port !== undefined && !svc.spec.ports.some((p) => p.port === ref.port))
        out.push({ reason: 'BackendNotFound', message: `${field}: Service ${ref.namespace}/${ref.name} has no port ${ref.port}` });
    }
  });
  return out;
}

export function routeParentStatuses(route: GatewayRouteObj, get: Lookup): RouteParentStatus[] {
  return parentStatuses(route, get).map(({ ref: _, ...rest }) => rest);
}

function parentStatuses(route: GatewayRouteObj, get: Lookup): (RouteParentStatus & { ref: RouteParentRef })[] {
  const problems = backendProblems(route, get);
  const resolved: RouteCondition =
    problems.length === 0
      ? { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs' }
      : { type: 'ResolvedRefs', status: 'False', reason: problems[0]?.reason ?? 'BackendNotFound', message: problems.map((p) => p.message).join('; ') };
  return route.spec.parentRefs
    .filter((p) => p.group === '' && p.kind === 'Service')
    .map((p) => {
      const svc = get('Service', p.namespace, p.name);
      let accepted: RouteCondition;
      if (!svc) accepted = { type: 'Accepted', status: 'False', reason: 'NoMatchingParent', message: `Service ${p.namespace}/${p.name} does not exist` };
      else if (p.port !== undefined && !svc.spec.ports.some((x) => x.port === p.port))
        accepted = { type: 'Accepted', status: 'False', reason: 'NoMatchingParent', message: `Service ${p.namespace}/${p.name} has no port ${p.port}` };
      else if (p.sectionName !== undefined)
        accepted = { type: 'Accepted', status: 'False', reason: 'NoMatchingParent', message: 'sectionName is not supported for Service parents (use port)' };
      else accepted = { type: 'Accepted', status: 'True', reason: 'Accepted' };
      return { ref: p, parentRef: parentRefText(p), controllerName: GAMMA_CONTROLLER_NAME, conditions: [accepted, resolved] };
    });
}

/** What the store offers for `coreServices.routeStatus`. */
export interface RouteStatusStore {
  routeLayers(): { obj: GatewayRouteObj; source: string }[];
  get: Lookup;
  onChange(listener: (c: StoreChange) => void): () => void;
}

/** Kinds whose changes can change a route's status: the routes and the Services they name. */
const STATUS_INPUTS = new Set<string>(['HTTPRoute', 'GRPCRoute', 'Service']);

/** `coreServices.routeStatus` over the store. */
export function routeStatusService(store: RouteStatusStore): RouteStatusService {
  return {
    controllerName: GAMMA_CONTROLLER_NAME,
    routes: () =>
      store.routeLayers().map(({ obj, source }): RouteStatusView => {
        const parents = parentStatuses(obj, store.get).map(
          (p): RouteParentStatusView => ({
            parentRef: { group: p.ref.group, kind: p.ref.kind, namespace: p.ref.namespace, name: p.ref.name, ...(p.ref.port !== undefined && { port: p.ref.port }), ...(p.ref.sectionName !== undefined && { sectionName: p.ref.sectionName }) },
            controllerName: p.controllerName,
            conditions: p.conditions,
          }),
        );
        const { generation, uid } = obj.metadata;
        return {
          apiVersion: obj.apiVersion,
          kind: obj.kind as 'HTTPRoute' | 'GRPCRoute',
          namespace: obj.metadata.namespace,
          name: obj.metadata.name,
          ...(typeof generation === 'number' && { generation }),
          ...(typeof uid === 'string' && { uid }),
          source,
          parents,
        };
      }),
    onChange: (listener) =>
      store.onChange((c) => {
        if (STATUS_INPUTS.has(c.kind)) listener();
      }),
  };
}
