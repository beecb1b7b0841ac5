import type { ExtensionPoint } from '../extensions.ts';
import type { AnyPluginDefinition } from '../plugin.ts';
import type { ServiceRef } from '../services.ts';

/** `provide` and `extend` for a plugin created outside a mesh, recording what it registered. */
export interface RecordedRegistrations {
  provide<T>(ref: ServiceRef<T>, value: T): void;
  extend<T>(point: ExtensionPoint<T>, value: T): void;
  readonly provided: ReadonlyMap<string, unknown>;
  readonly extended: readonly { readonly point: string; readonly value: unknown }[];
}

/**
 * What a test passes as `ctx.provide`/`ctx.extend` when it calls a plugin's `create` itself. With the plugin's
 * definition, undeclared registrations throw as they do in a real mesh.
 */
export function recordRegistrations(def?: AnyPluginDefinition): RecordedRegistrations {
  const provided = new Map<string, unknown>();
  const extended: { point: string; value: unknown }[] = [];
  const declaredProvides = def && new Set((def.provides ?? []).map((r) => r.id));
  const declaredExtends = def && new Set((def.extends ?? []).map((p) => p.id));
  return {
    provided,
    extended,
    provide(ref, value) {
      if (declaredProvides && !declaredProvides.has(ref.id)) throw new Error(`${def?.name}: provides "${ref.id}" without declaring it in "provides"`);
      provided.set(ref.id, value);
    },
    extend(point, value) {
      if (declaredExtends && !declaredExtends.has(point.id)) throw new Error(`${def?.name}: contributes to "${point.id}" without declaring it in "extends"`);
      extended.push({ point: point.id, value });
    },
  };
}
