import type { KubeObject, SourceSink, XdsResourceFactory } from '@trellis/plugin-sdk';
import { keyOf, objectKeyString } from '@trellis/plugin-sdk';
import type { CoreParts, CorePartsFactory } from '../kernel/mesh.ts';

// Interim wiring until the store, catalog, certificates and xDS rooms land: objects are kept per source.
export const defaultParts: CorePartsFactory = (): CoreParts => {
  const objects = new Map<string, KubeObject>();
  const sink: SourceSink = {
    apply: (obj) => void objects.set(objectKeyString(keyOf(obj)), obj),
    delete: (key) => void objects.delete(objectKeyString(key)),
    replaceAll: (list) => {
      objects.clear();
      for (const { obj } of list) objects.set(objectKeyString(keyOf(obj)), obj);
    },
    reportError: () => undefined,
    clearErrors: () => undefined,
  };
  const resources: XdsResourceFactory = {
    create: () => {
      throw new Error('xDS resources are not available yet');
    },
  };
  return { sinkFor: () => sink, resources, early: [], late: [], debugPages: [] };
};
