import type { KubeObject } from '@trellis/plugin-sdk';
import { DEFAULT_MESH_SETTINGS, meshConfigSettings, pickMeshConfig } from '../store/index.ts';
import type { MeshConfigSettings } from '../store/index.ts';

/** The settings in effect if the store held exactly these (accepted) MeshConfigs. */
export function meshSettingsOf(objs: readonly KubeObject[]): MeshConfigSettings {
  const o = pickMeshConfig(objs);
  return o ? meshConfigSettings(o) : DEFAULT_MESH_SETTINGS;
}
