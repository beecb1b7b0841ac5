// Module hook: resolve workspace packages with the `@trellis/source` export condition (their TypeScript
// sources) instead of their build. Registered by bin/dev.js.
export async function resolve(specifier, context, nextResolve) {
  return nextResolve(specifier, { ...context, conditions: [...context.conditions, '@trellis/source'] });
}
