export { MeshStore, pickMeshConfig, selects } from './mesh-store.ts';
export type { MeshStoreDeps } from './mesh-store.ts';
export { meshChanged } from './events.ts';
export type { IgnoredObject, PolicyStatus, StoreChange } from './events.ts';
export { DEFAULT_MESH_SETTINGS, podIPs, podServiceAccount } from './kinds.ts';
export type * from './kinds.ts';
export type * from './policy-types.ts';
export { MAX_REGEX_LENGTH, re2FullMatch, re2Problem } from './re2.ts';
export { meshConfigSettings, validateObject } from './validate.ts';
