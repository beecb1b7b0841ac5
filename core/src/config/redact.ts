import type { Schema } from '@trellis/plugin-sdk';
import type { LoadedConfig } from './load.ts';
import { configSchema } from './schema.ts';

export const REDACTED = '<redacted>';

type ShapeSchema = Schema<unknown> & { shape?: Record<string, Schema<unknown>> };

/** Replaces values of keys a schema marks `secret` (recursively through object shapes). */
function redactBySchema(value: unknown, schema: ShapeSchema | undefined): unknown {
  if (!schema || value === null || typeof value !== 'object') return schema?.secret && value !== undefined ? REDACTED : value;
  if (schema.secret) return REDACTED;
  if (Array.isArray(value) || !schema.shape) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const sub = schema.shape[k];
    out[k] = sub?.secret ? REDACTED : redactBySchema(v, sub);
  }
  return out;
}

/**
 * The effective config (defaults filled in, plugin blocks decoded, then written back in the file's form:
 * durations as `10s`) with every secret replaced. It is itself a valid config file.
 */
export function effectiveConfig(cfg: LoadedConfig): Record<string, unknown> {
  const secret = new Set(cfg.secretPaths);
  const redactPaths = (v: unknown, path: (string | number)[]): unknown => {
    if (secret.has(path.join('\u0000'))) return REDACTED;
    if (Array.isArray(v)) return v.map((el, i) => redactPaths(el, [...path, i]));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, el]) => [k, redactPaths(el, [...path, k])]));
    return v;
  };
  const plugin = (kind: string) =>
    cfg.plugins
      .filter((p) => p.kind === kind)
      .map((p) => {
        const segs = p.path.split(/\.|\[|\]/).filter(Boolean).map((x) => (/^\d+$/.test(x) ? Number(x) : x));
        const schema = p.definition.configSchema as Schema<unknown> | undefined;
        const fromEnv = redactPaths(schema ? schema.encode(p.config) : p.config, [...segs, 'config']);
        return {
          use: p.use,
          ...(p.instanceName !== p.definition.name ? { name: p.instanceName } : {}),
          config: redactBySchema(fromEnv, p.definition.configSchema as ShapeSchema | undefined),
        };
      });
  const { plugins: _plugins, ...rest } = configSchema.encode(cfg.settings) as typeof cfg.settings;
  const certs = plugin('certificates');
  return {
    ...(redactPaths(rest, []) as Record<string, unknown>),
    plugins: { sources: plugin('source'), proxies: plugin('proxy'), certificates: certs.length === 1 ? certs[0] : certs, observability: plugin('observability') },
  };
}
