import type { Lifecycle } from './lifecycle.ts';

/** Exports the core's telemetry (metrics, traces) somewhere; reads it through `coreServices.metrics`. @public */
export type ObservabilityPlugin = Lifecycle;
