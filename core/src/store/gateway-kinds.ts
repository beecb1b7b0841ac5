/**
 * Gateway API HTTPRoute and GRPCRoute as the store keeps them after validation (gateway-validate.ts): defaults
 * filled in, header names lower-cased, GRPCRoute method matches kept apart from HTTP path matches. Only the
 * fields Trellis reads.
 */
import type { KubeObject, RouteParentRefView } from '@trellis/plugin-sdk';

/** A parentRef, namespace filled in; `group` `''` (core) for a Service (other groups/kinds, a Gateway, are skipped). */
export type RouteParentRef = RouteParentRefView;

export interface RouteValueMatch {
  readonly name: string;
  readonly type: 'Exact' | 'RegularExpression';
  readonly value: string;
}

export interface RouteMatchSpec {
  /** HTTPRoute: always present after defaults (PathPrefix `/`). */
  readonly path?: { readonly type: 'Exact' | 'PathPrefix' | 'RegularExpression'; readonly value: string };
  readonly method?: string;
  /** GRPCRoute: service and/or method (Exact needs at least one). */
  readonly grpcMethod?: { readonly type: 'Exact' | 'RegularExpression'; readonly service?: string; readonly method?: string };
  readonly headers: readonly RouteValueMatch[];
  readonly queryParams: readonly RouteValueMatch[];
}

export interface HeaderEditSpec {
  readonly set: readonly { readonly name: string; readonly value: string }[];
  readonly add: readonly { readonly name: string; readonly value: string }[];
  readonly remove: readonly string[];
}

export interface PathModifierSpec {
  readonly type: 'ReplaceFullPath' | 'ReplacePrefixMatch';
  readonly value: string;
}

export interface BackendRefSpec {
  readonly group: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly port?: number;
}

export interface RouteFilterSpec {
  readonly type: 'RequestHeaderModifier' | 'ResponseHeaderModifier' | 'RequestRedirect' | 'URLRewrite' | 'RequestMirror';
  readonly headers?: HeaderEditSpec;
  readonly redirect?: { readonly scheme?: string; readonly hostname?: string; readonly port?: number; readonly path?: PathModifierSpec; readonly statusCode: number };
  readonly rewrite?: { readonly hostname?: string; readonly path?: PathModifierSpec };
  readonly mirror?: { readonly backendRef: BackendRefSpec; readonly percent: number };
}

export interface RouteBackendSpec extends BackendRefSpec {
  readonly weight: number;
  readonly filters: readonly RouteFilterSpec[];
}

export interface RouteRuleSpec {
  readonly name?: string;
  readonly matches: readonly RouteMatchSpec[];
  readonly filters: readonly RouteFilterSpec[];
  readonly backendRefs: readonly RouteBackendSpec[];
  readonly timeouts?: { readonly requestMs?: number; readonly backendRequestMs?: number };
}

export interface GatewayRouteObj extends KubeObject {
  metadata: KubeObject['metadata'] & { namespace: string; creationTimestamp?: string };
  spec: { parentRefs: readonly RouteParentRef[]; rules: readonly RouteRuleSpec[] };
}
