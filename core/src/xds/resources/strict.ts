import { lookupMessage, typeNameOf } from './protos.ts';
import { walk, type MessageRule } from './walk.ts';

export type { MessageRule } from './walk.ts';

/**
 * Strict check of a resource object against its proto type: every problem with its path (`$.a.b[2].c`).
 * Catches what protobufjs's `fromObject` would silently drop or mangle: keys the type does not define, wrong
 * value types, unknown `@type` in Any (payloads are checked recursively), enum names that do not exist.
 * `rules` adds per-message checks (PGV `validate.rules` later).
 */
export function checkStrict(typeNameOrUrl: string, obj: Record<string, unknown>, rules?: readonly MessageRule[]): string[] {
  const type = lookupMessage(typeNameOrUrl);
  if (!type) return [`$: unknown type "${typeNameOf(typeNameOrUrl)}"`];
  return walk(type, obj, rules ? { rules } : {}).problems;
}
