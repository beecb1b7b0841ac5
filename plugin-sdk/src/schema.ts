import { statSync } from 'node:fs';
import { isAbsolute, resolve as resolvePath } from 'node:path';

/**
 * A small, typed config-schema builder. Plugins describe their `config` block with it; the core decodes
 * strictly (unknown keys are errors) and reports every problem with its path.
 * @public
 */

export interface SchemaIssue {
  /** Path segments from the schema's root, e.g. `['dir']` or `['roots', 0]`. */
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/** What a decode may need beyond the value: where relative paths resolve from. */
export interface ParseContext {
  readonly baseDir: string;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; issues: SchemaIssue[] };

export interface Schema<T> {
  /** What the schema accepts, for docs and error messages (`string`, `integer >= 1`, ...). */
  readonly description: string;
  /** True when the key may be absent from an enclosing object. */
  readonly optional: boolean;
  /** Secrets are redacted by `trellis config print`. */
  readonly secret: boolean;
  readonly parse: (input: unknown, path?: readonly (string | number)[], ctx?: ParseContext) => ParseResult<T>;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

interface Options {
  description?: string;
}

function make<T>(
  description: string,
  parse: (input: unknown, path: readonly (string | number)[], ctx: ParseContext) => ParseResult<T>,
  flags: { optional?: boolean; secret?: boolean } = {},
): Schema<T> {
  return {
    description,
    optional: flags.optional ?? false,
    secret: flags.secret ?? false,
    parse: (input, path = [], ctx = { baseDir: process.cwd() }) => parse(input, path, ctx),
  };
}

const fail = (path: readonly (string | number)[], message: string): ParseResult<never> => ({
  ok: false,
  issues: [{ path, message }],
});

const typeName = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

function string(opts: Options & { minLength?: number; pattern?: RegExp; patternHint?: string } = {}): Schema<string> {
  return make(opts.description ?? 'string', (v, path) => {
    if (typeof v !== 'string') return fail(path, `must be a string, got ${typeName(v)}`);
    if (opts.minLength !== undefined && v.length < opts.minLength)
      return fail(path, opts.minLength === 1 ? 'must not be empty' : `must be at least ${opts.minLength} characters`);
    if (opts.pattern && !opts.pattern.test(v)) return fail(path, `must be ${opts.patternHint ?? `like ${String(opts.pattern)}`}`);
    return { ok: true, value: v };
  });
}

function number(opts: Options & { integer?: boolean; min?: number; max?: number } = {}): Schema<number> {
  const desc = `${opts.integer ? 'integer' : 'number'}${opts.min !== undefined ? ` >= ${opts.min}` : ''}${opts.max !== undefined ? ` <= ${opts.max}` : ''}`;
  return make(opts.description ?? desc, (v, path) => {
    if (typeof v !== 'number' || Number.isNaN(v)) return fail(path, `must be a number, got ${typeName(v)}`);
    if (opts.integer && !Number.isInteger(v)) return fail(path, `must be an integer, got ${v}`);
    if (opts.min !== undefined && v < opts.min) return fail(path, `must be >= ${opts.min}, got ${v}`);
    if (opts.max !== undefined && v > opts.max) return fail(path, `must be <= ${opts.max}, got ${v}`);
    return { ok: true, value: v };
  });
}

function boolean(opts: Options = {}): Schema<boolean> {
  return make(opts.description ?? 'boolean', (v, path) =>
    typeof v === 'boolean' ? { ok: true, value: v } : fail(path, `must be true or false, got ${typeName(v)}`),
  );
}

function literal<const L extends readonly string[]>(values: L, opts: Options = {}): Schema<L[number]> {
  return make(opts.description ?? values.map((x) => JSON.stringify(x)).join(' | '), (v, path) =>
    typeof v === 'string' && values.includes(v)
      ? { ok: true, value: v }
      : fail(path, `must be one of ${values.map((x) => JSON.stringify(x)).join(', ')}, got ${JSON.stringify(v)}`),
  );
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `500ms`, `30s`, `5m`, `24h`, `7d` into milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * (UNIT_MS[m[2] ?? 's'] ?? 1000);
}

/** A duration written as `30s`, `5m`, `24h` (or a number of milliseconds); decodes to milliseconds. */
function duration(opts: Options & { minMs?: number } = {}): Schema<number> {
  return make(opts.description ?? 'duration (e.g. 500ms, 30s, 5m, 24h)', (v, path) => {
    const ms = typeof v === 'number' ? v : typeof v === 'string' ? parseDuration(v) : undefined;
    if (ms === undefined || !Number.isFinite(ms) || ms < 0)
      return fail(path, `must be a duration like 500ms, 30s, 5m or 24h, got ${JSON.stringify(v)}`);
    if (opts.minMs !== undefined && ms < opts.minMs) return fail(path, `must be at least ${opts.minMs}ms`);
    return { ok: true, value: ms };
  });
}

function array<T>(item: Schema<T>, opts: Options & { minItems?: number } = {}): Schema<T[]> {
  return make(opts.description ?? `list of ${item.description}`, (v, path, ctx) => {
    if (!Array.isArray(v)) return fail(path, `must be a list, got ${typeName(v)}`);
    if (opts.minItems !== undefined && v.length < opts.minItems) return fail(path, `must have at least ${opts.minItems} item(s)`);
    const out: T[] = [];
    const issues: SchemaIssue[] = [];
    v.forEach((el, i) => {
      const r = item.parse(el, [...path, i], ctx);
      if (r.ok) out.push(r.value);
      else issues.push(...r.issues);
    });
    return issues.length ? { ok: false, issues } : { ok: true, value: out };
  });
}

function record<T>(value: Schema<T>, opts: Options = {}): Schema<Record<string, T>> {
  return make(opts.description ?? `map of ${value.description}`, (v, path, ctx) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(path, `must be a map, got ${typeName(v)}`);
    const out: Record<string, T> = {};
    const issues: SchemaIssue[] = [];
    for (const [k, el] of Object.entries(v)) {
      const r = value.parse(el, [...path, k], ctx);
      if (r.ok) out[k] = r.value;
      else issues.push(...r.issues);
    }
    return issues.length ? { ok: false, issues } : { ok: true, value: out };
  });
}

type Shape = Record<string, Schema<unknown>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K]['optional'] extends true ? K : never }[keyof S];
export type InferShape<S extends Shape> = {
  [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]>;
} & { [K in OptionalKeys<S>]?: Infer<S[K]> };

export interface ObjectSchema<S extends Shape> extends Schema<InferShape<S>> {
  readonly shape: S;
}

/** A strict object: unknown keys are errors, missing required keys are errors. */
function object<S extends Shape>(shape: S, opts: Options = {}): ObjectSchema<S> {
  const base = make<InferShape<S>>(opts.description ?? 'object', (v, path, ctx) => {
    if (v === undefined || v === null) v = {};
    if (typeof v !== 'object' || Array.isArray(v)) return fail(path, `must be a map, got ${typeName(v)}`);
    const input = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    const issues: SchemaIssue[] = [];
    for (const key of Object.keys(input)) {
      if (!(key in shape)) {
        const known = Object.keys(shape);
        issues.push({
          path: [...path, key],
          message: `unknown key${known.length ? ` (expected one of: ${known.join(', ')})` : ' (this block takes no keys)'}`,
        });
      }
    }
    for (const [key, schema] of Object.entries(shape)) {
      const raw = input[key];
      if (raw === undefined) {
        const d = schema.parse(undefined, [...path, key], ctx);
        if (d.ok && d.value !== undefined) out[key] = d.value;
        else if (!schema.optional) issues.push({ path: [...path, key], message: `is required (${schema.description})` });
        continue;
      }
      const r = schema.parse(raw, [...path, key], ctx);
      if (r.ok) out[key] = r.value;
      else issues.push(...r.issues);
    }
    return issues.length ? { ok: false, issues } : { ok: true, value: out as InferShape<S> };
  });
  return { ...base, shape };
}

/** An object block that may be absent; absent decodes to its keys' defaults. */
function section<S extends Shape>(shape: S, opts: Options = {}): ObjectSchema<S> {
  const o = object(shape, opts);
  return { ...o, optional: true };
}

function optional<T>(inner: Schema<T>): Schema<T | undefined> & { optional: true } {
  return {
    description: inner.description,
    optional: true,
    secret: inner.secret,
    parse: (v, path = [], ctx) => (v === undefined ? { ok: true, value: undefined } : inner.parse(v, path, ctx)),
  };
}

/**
 * A key that may be absent; when absent it decodes to `value`. (Typed as plain `Schema<T>` so the decoded
 * object has the key as required.)
 */
function withDefault<T>(inner: Schema<T>, value: T): Schema<T> {
  return {
    description: `${inner.description} (default ${JSON.stringify(value)})`,
    optional: true,
    secret: inner.secret,
    parse: (v, path = [], ctx) => (v === undefined ? { ok: true, value } : inner.parse(v, path, ctx)),
  };
}

/** Marks a value as secret: `trellis config print` shows it as `<redacted>`. */
function secret<T>(inner: Schema<T>): Schema<T> {
  return { ...inner, secret: true };
}

/** Adds a check after decoding; the message explains what is wrong. */
function refine<T>(inner: Schema<T>, check: (value: T) => string | undefined): Schema<T> {
  return {
    ...inner,
    parse: (v, path = [], ctx) => {
      const r = inner.parse(v, path, ctx);
      if (!r.ok) return r;
      const problem = check(r.value);
      return problem ? fail(path, problem) : r;
    },
  };
}

/**
 * A filesystem path, resolved against the config file's directory. `mustBe` checks what exists there
 * when the config is decoded, so `trellis validate` catches a missing directory.
 */
function fsPath(opts: Options & { mustBe?: 'directory' | 'file' } = {}): Schema<string> {
  return make(opts.description ?? (opts.mustBe ? `path to a ${opts.mustBe}` : 'path'), (v, path, ctx) => {
    if (typeof v !== 'string' || v === '') return fail(path, `must be a path (non-empty string), got ${JSON.stringify(v)}`);
    const abs = isAbsolute(v) ? v : resolvePath(ctx.baseDir, v);
    if (opts.mustBe) {
      let st;
      try {
        st = statSync(abs);
      } catch {
        return fail(path, `must be a ${opts.mustBe} (${abs} does not exist)`);
      }
      if (opts.mustBe === 'directory' ? !st.isDirectory() : !st.isFile()) return fail(path, `must be a ${opts.mustBe} (${abs} is not one)`);
    }
    return { ok: true, value: abs };
  });
}

/** Any value, passed through unchecked (for plugin-owned sub-blocks validated elsewhere). */
function unknownValue(opts: Options = {}): Schema<unknown> {
  return make(opts.description ?? 'any value', (v) => ({ ok: true, value: v }));
}

export const s = {
  string,
  number,
  boolean,
  literal,
  duration,
  array,
  record,
  object,
  section,
  optional,
  default: withDefault,
  secret,
  refine,
  path: fsPath,
  unknown: unknownValue,
};

/** `roots[0].dir` from `['roots', 0, 'dir']`. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out ? `.${seg}` : seg;
  return out;
}
