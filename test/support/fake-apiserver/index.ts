/** The fake Kubernetes API server for tests, and helpers to drive it with real clients (kubectl, python3-kubernetes). */
export { FakeApiServer } from './server.ts';
export type { FakeApiServerOptions, KubeObj, RequestLog } from './server.ts';
export { DEFAULT_TYPES, apiVersionOf } from './types.ts';
export type { ResourceType } from './types.ts';
export { kubectl, python3Kubernetes } from './clients.ts';
