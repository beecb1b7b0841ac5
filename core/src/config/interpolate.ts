import type { SchemaIssue } from '@trellis/plugin-sdk';

const REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$\$\{/g;

/**
 * Replaces `${NAME}` in every string with the environment variable's value (`$${` escapes a literal `${`).
 * Returns the paths of interpolated values so `config print` can redact them: they are usually secrets.
 */
export function interpolateEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  path: (string | number)[] = [],
  out: { issues: SchemaIssue[]; secretPaths: string[] } = { issues: [], secretPaths: [] },
): { value: unknown; issues: SchemaIssue[]; secretPaths: string[] } {
  const walk = (v: unknown, p: (string | number)[]): unknown => {
    if (typeof v === 'string') {
      let used = false;
      const replaced = v.replace(REF, (m, name: string | undefined) => {
        if (m === '$${') return '${';
        used = true;
        const found = env[name ?? ''];
        if (found === undefined) {
          out.issues.push({ path: p, message: `environment variable ${name} is not set` });
          return '';
        }
        return found;
      });
      if (used) out.secretPaths.push(p.join('\u0000'));
      return replaced;
    }
    if (Array.isArray(v)) return v.map((el, i) => walk(el, [...p, i]));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, el]) => [k, walk(el, [...p, k])]));
    return v;
  };
  return { value: walk(value, path), ...out };
}
