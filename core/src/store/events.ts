import { defineTopic } from '@trellis/plugin-sdk';
import type { KubeObject } from '@trellis/plugin-sdk';
import type { MeshKind } from './kinds.ts';
import type { RouteParentStatus } from './route-status.ts';

/**
 * One change of the effective mesh state: an object added (`new` only), replaced (both) or removed (`old`
 * only). `key` is `objectKeyString` (`group/Kind/namespace/name`). An invalid update emits nothing: the last
 * good version stays. @public
 */
export interface StoreChange {
  readonly kind: MeshKind;
  readonly key: string;
  readonly old?: KubeObject;
  readonly new?: KubeObject;
}

/** Published once per change, after the store has applied it. @public */
export const meshChanged = defineTopic<StoreChange>('mesh.changed');

/** One SMI / MeshConfig object as `/debug/policies` lists it. @public */
export interface PolicyStatus {
  /** A built-in kind, or a policy kind a plugin contributed. */
  readonly kind: MeshKind | (string & {});
  readonly namespace: string;
  readonly name: string;
  readonly status: 'accepted' | 'ignored' | 'invalid';
  /** The field and why, for anything not accepted. */
  readonly reason?: string;
  readonly source?: string;
  readonly file?: string;
  readonly line?: number;
  /** Gateway API routes: the `Accepted` / `ResolvedRefs` conditions per Service parentRef. */
  readonly parents?: readonly RouteParentStatus[];
}

/** An object of a kind the store does not know, ignored. */
export interface IgnoredObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  readonly reason: string;
  readonly source: string;
}
