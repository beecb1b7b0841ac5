import type { EventBus } from './bus.ts';
import type { PolicyObjects } from './extensions.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import type { RouteStatusService } from './mesh/route-status.ts';

/**
 * A typed reference to a service a plugin depends on. The core resolves it from its container; the token
 * (`id`) is explicit, so nothing relies on emitted decorator metadata. @public
 */
export interface ServiceRef<T> {
  readonly id: string;
  readonly __type?: T;
}

export function createServiceRef<T>(id: string): ServiceRef<T> {
  return { id };
}

/**
 * The mesh-wide settings every plugin may read (`ctx.mesh`). A live read: `trustDomain` is the one in effect
 * now (a MeshConfig's `spec.certificate.trustDomain`, else the config file's `mesh.trustDomain`), so read it
 * when you need it rather than copying it at `create`. Proxy backends should use `view.trustDomain`.
 */
export interface MeshSettings {
  readonly name: string;
  readonly trustDomain: string;
}

/** Readiness of one check, as `/readyz?verbose` lists it. */
export interface Readiness {
  readonly ready: boolean;
  readonly reason?: string;
}

export const coreServices = {
  logger: createServiceRef<Logger>('core.logger'),
  bus: createServiceRef<EventBus>('core.bus'),
  metrics: createServiceRef<Metrics>('core.metrics'),
  mesh: createServiceRef<MeshSettings>('core.mesh'),
  /** Objects of the policy kinds plugins contribute (`extensionPoints.policyKinds`). */
  policies: createServiceRef<PolicyObjects>('core.policies'),
  /** Gateway API route status as the store computes it, for a source that writes it back. */
  routeStatus: createServiceRef<RouteStatusService>('core.routeStatus'),
} as const;
