export { MeshSettingsService, meshSettingsFor } from './mesh-settings.ts';
export type { MeshSettingsChange, MeshSettingsOptions } from './mesh-settings.ts';
