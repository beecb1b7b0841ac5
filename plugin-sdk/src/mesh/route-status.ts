/**
 * Gateway API route status as the core computes it (`coreServices.routeStatus`), for a source that writes it
 * back where the routes came from (the Kubernetes source patches `status.parents[]`). The core owns the
 * computation (it needs the whole store); a source only reads it, so no plugin reaches into the core. @public
 */

/** A Service parentRef, namespace filled in (Gateway API `ParentReference`). */
export interface RouteParentRefView {
  readonly group: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly port?: number;
  readonly sectionName?: string;
}

/** One condition (`status.parents[].conditions[]`), without the times a writer owns. */
export interface RouteConditionView {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message?: string;
}

export interface RouteParentStatusView {
  readonly parentRef: RouteParentRefView;
  readonly controllerName: string;
  readonly conditions: readonly RouteConditionView[];
}

/** One HTTPRoute / GRPCRoute the store holds, with its status for each Service parent. */
export interface RouteStatusView {
  readonly apiVersion: string;
  readonly kind: 'HTTPRoute' | 'GRPCRoute';
  readonly namespace: string;
  readonly name: string;
  /** `metadata.generation` of the version the status was computed from (`observedGeneration`). */
  readonly generation?: number;
  /** `metadata.uid`: a writer touches only the object it delivered (another source may hold the same name). */
  readonly uid?: string;
  /** The source instance that delivered the route. */
  readonly source: string;
  /** Service parents only; empty when the route names none (a Gateway's routes are not the mesh's). */
  readonly parents: readonly RouteParentStatusView[];
}

export interface RouteStatusService {
  /** The controller name the conditions are reported under (`status.parents[].controllerName`). */
  readonly controllerName: string;
  /** Every route the store holds, computed now. */
  routes(): RouteStatusView[];
  /** Called (synchronously, after the store applied it) when a change may have changed some route's status. */
  onChange(listener: () => void): () => void;
}
