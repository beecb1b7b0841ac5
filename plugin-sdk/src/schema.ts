import { statSync } from 'node:fs';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { Type, type TSchema } from '@sinclair/typebox';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

/**
 * The typed config-schema builder `s`. Plugins describe their `config` block with it; each schema is a JSON
 * Schema (built with TypeBox, see `jsonSchema`) that Ajv validates (compiled once per schema: types, ranges,
 * patterns, required and unknown keys, defaults), followed by a decode step for what JSON Schema cannot say:
 * durations to milliseconds, paths resolved against the config file's directory (and checked on disk),
 * `refine` checks. Every problem is reported with its path. Plugin authors never import TypeBox or Ajv.
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

/** A JSON Schema (draft-07) document or sub-schema, as plain data. */
export type JsonSchema = { readonly [key: string]: unknown };

export interface Schema<T> {
  /** What the schema accepts, for docs and error messages (`string`, `integer >= 1`, `duration`, ...). */
  readonly description: string;
  /** True when the key may be absent from an enclosing object. */
  readonly optional: boolean;
  /** Secrets are redacted by `trellis config print` (`x-secret: true` in the JSON Schema). */
  readonly secret: boolean;
  /** The JSON Schema of the value as written in the config file (durations as strings, defaults in that form). */
  readonly jsonSchema: JsonSchema;
  readonly parse: (input: unknown, path?: readonly (string | number)[], ctx?: ParseContext) => ParseResult<T>;
  /** A decoded value back in the file's form (durations as `10s`), so a printed effective config reads back. */
  encode(value: T): unknown; // method syntax: bivariant, so Schema<string> is still a Schema<unknown>
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

interface Options {
  /** What the key means (the JSON Schema `description`; docs/config.md's "meaning" column). */
  description?: string;
}

// ---- internals -------------------------------------------------------------------------------------------

type Path = readonly (string | number)[];

interface Impl {
  /** `object` nodes take `null` (a YAML key with nothing under it) as absent. */
  readonly kind: 'object' | 'array' | 'record' | 'leaf';
  readonly shape?: Record<string, Schema<unknown>>;
  readonly item?: Schema<unknown>;
  /** Absent in an enclosing object is fine (optional, defaulted, or an object whose keys all are). */
  readonly acceptsAbsent: boolean;
  /** The decoded default, when there is one. */
  readonly hasDefault: boolean;
  readonly defaultValue?: unknown;
  /**
   * From the file's form to the decoded value. Runs after Ajv; where Ajv found problems (`bad`) it leaves the
   * value as it is and skips `refine` checks, so the checks of the valid parts are still reported.
   */
  decode(raw: unknown, path: Path, ctx: ParseContext, issues: SchemaIssue[], bad: Bad): unknown;
  /** From a decoded value back to the file's form (for defaults in the JSON Schema). */
  encode(value: unknown): unknown;
}

/** Paths (segments joined by NUL) where Ajv reported a problem, and every path above one. */
interface Bad {
  readonly at: ReadonlySet<string>;
  readonly under: ReadonlySet<string>;
}
const key = (path: Path): string => path.join('\u0000');
const NONE: Bad = { at: new Set(), under: new Set() };

const IMPL = new WeakMap<object, Impl>();
const impl = (schema: Schema<unknown>): Impl => {
  const i = IMPL.get(schema);
  if (!i) throw new Error('not a schema made with the SDK builder `s`');
  return i;
};

const ajv = new Ajv({ allErrors: true, useDefaults: true, verbose: true, strict: true });
// Annotations Ajv does not evaluate; error messages and docs read them.
ajv.addVocabulary(['x-secret', 'x-duration', 'x-path', 'x-hint']);

const typeName = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/** A plain copy, so Ajv's defaults never write into the caller's object. */
function copy(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(copy);
  if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype)
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, copy(x)]));
  return v;
}

/** YAML `mesh:` with nothing under it is null: an object block that is null counts as absent. */
function dropNullBlocks(schema: Schema<unknown>, v: unknown): void {
  const i = impl(schema);
  if (i.kind === 'object' && i.shape && v && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    for (const [k, sub] of Object.entries(i.shape)) {
      if (o[k] === null && impl(sub).kind === 'object') delete o[k];
      else if (o[k] !== undefined) dropNullBlocks(sub, o[k]);
    }
  } else if ((i.kind === 'array' || i.kind === 'record') && i.item && v && typeof v === 'object') {
    for (const el of Object.values(v)) dropNullBlocks(i.item, el);
  }
}

/** `/roots/0/weight` as path segments (array indices as numbers, found by walking the data). */
function pointerPath(pointer: string, root: unknown): (string | number)[] {
  const out: (string | number)[] = [];
  let cur: unknown = root;
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const key = Array.isArray(cur) ? Number(seg) : seg;
    out.push(key);
    cur = cur && typeof cur === 'object' ? (cur as Record<string | number, unknown>)[key] : undefined;
  }
  return out;
}

const durationMessage = (v: unknown): string =>
  typeof v === 'number'
    ? `must be a duration with a unit, e.g. ${v}ms or ${v}s (a bare number is ambiguous)`
    : `must be a duration like 500ms, 30s, 5m or 24h, got ${JSON.stringify(v)}`;

function issueFor(e: ErrorObject, root: unknown): SchemaIssue {
  const at = pointerPath(e.instancePath, root);
  const sch = (e.parentSchema ?? {}) as JsonSchema;
  const p = e.params as Record<string, unknown>;
  const data: unknown = e.data;
  const issue = (message: string, path: Path = at): SchemaIssue => ({ path, message });
  if (sch['x-duration'] && (e.keyword === 'type' || e.keyword === 'pattern')) return issue(durationMessage(data));
  if (sch['x-path'] && (e.keyword === 'type' || e.keyword === 'minLength')) return issue(`must be a path (non-empty string), got ${JSON.stringify(data)}`);
  switch (e.keyword) {
    case 'additionalProperties': {
      const known = Object.keys((sch.properties as object | undefined) ?? {});
      return issue(`unknown key${known.length ? ` (expected one of: ${known.join(', ')})` : ' (this block takes no keys)'}`, [...at, String(p.additionalProperty)]);
    }
    case 'required': {
      const name = String(p.missingProperty);
      const sub = ((sch.properties ?? {}) as Record<string, JsonSchema>)[name] ?? {};
      return issue(`is required (${summarize(sub)})`, [...at, name]);
    }
    case 'type':
      switch (p.type) {
        case 'string':
          return issue(`must be a string, got ${typeName(data)}`);
        case 'integer':
          return issue(typeof data === 'number' ? `must be an integer, got ${data}` : `must be a number, got ${typeName(data)}`);
        case 'number':
          return issue(`must be a number, got ${typeName(data)}`);
        case 'boolean':
          return issue(`must be true or false, got ${typeName(data)}`);
        case 'array':
          return issue(`must be a list, got ${typeName(data)}`);
        case 'object':
          return issue(`must be a map, got ${typeName(data)}`);
      }
      break;
    case 'minLength':
      return issue(p.limit === 1 ? 'must not be empty' : `must be at least ${String(p.limit)} characters`);
    case 'maxLength':
      return issue(`must be at most ${String(p.limit)} characters`);
    case 'pattern':
      return issue(`must be ${typeof sch['x-hint'] === 'string' ? sch['x-hint'] : `like /${String(p.pattern)}/`}`);
    case 'minimum':
      return issue(`must be >= ${String(p.limit)}, got ${String(data)}`);
    case 'maximum':
      return issue(`must be <= ${String(p.limit)}, got ${String(data)}`);
    case 'enum':
      return issue(`must be one of ${(p.allowedValues as unknown[]).map((x) => JSON.stringify(x)).join(', ')}, got ${JSON.stringify(data)}`);
    case 'minItems':
      return issue(`must have at least ${String(p.limit)} item(s)`);
  }
  return issue(e.message ?? e.keyword);
}

/** A one-line summary of what a JSON Schema accepts: `integer >= 1`, `list of string`, `"a" | "b"`. */
export function summarize(j: JsonSchema): string {
  if (j['x-duration']) return 'duration';
  const fsKind = j['x-path'];
  if (fsKind) return typeof fsKind === 'string' ? `path to a ${fsKind}` : 'path';
  if (Array.isArray(j.enum)) return j.enum.map((x) => JSON.stringify(x)).join(' | ');
  const range = `${typeof j.minimum === 'number' ? ` >= ${j.minimum}` : ''}${typeof j.maximum === 'number' ? ` <= ${j.maximum}` : ''}`;
  switch (j.type) {
    case 'string':
      return typeof j['x-hint'] === 'string' ? `string (${j['x-hint']})` : 'string';
    case 'integer':
    case 'number':
      return `${j.type}${range}`;
    case 'boolean':
      return 'boolean';
    case 'array':
      return `list of ${summarize((j.items ?? {}) as JsonSchema)}`;
    case 'object': {
      const pp = Object.values((j.patternProperties ?? {}) as Record<string, JsonSchema>)[0];
      return pp ? `map of ${summarize(pp)}` : 'object';
    }
  }
  return 'any value';
}

function build<T>(json: TSchema | JsonSchema, i: Omit<Impl, 'acceptsAbsent' | 'hasDefault'> & Partial<Pick<Impl, 'acceptsAbsent' | 'hasDefault'>>, flags: { optional?: boolean; secret?: boolean; shape?: Record<string, Schema<unknown>> } = {}): Schema<T> {
  const full: Impl = { acceptsAbsent: false, hasDefault: false, ...i };
  const jsonSchema = json as JsonSchema;
  let validate: ValidateFunction | undefined;
  const schema: Schema<T> = {
    description: summarize(jsonSchema),
    optional: flags.optional ?? false,
    secret: flags.secret ?? false,
    jsonSchema,
    encode: (value) => (value === undefined ? undefined : full.encode(value)),
    parse: (input, path = [], ctx = { baseDir: process.cwd() }) => {
      let raw = copy(input);
      if (raw === undefined || (raw === null && full.kind === 'object')) {
        if (full.kind === 'object') raw = {};
        else if (full.hasDefault) raw = full.encode(full.defaultValue);
        else if (flags.optional) return { ok: true, value: undefined as T };
      }
      dropNullBlocks(schema, raw);
      // A default applies inside an enclosing object; Ajv (strict) refuses one at the root.
      validate ??= ajv.compile((({ default: _d, ...root }) => root)(jsonSchema));
      const issues: SchemaIssue[] = [];
      let bad = NONE;
      if (!validate(raw)) {
        issues.push(...(validate.errors ?? []).map((e) => issueFor(e, raw)).map((x) => ({ ...x, path: [...path, ...x.path] })));
        bad = { at: new Set(issues.map((x) => key(x.path))), under: new Set(issues.flatMap((x) => x.path.map((_, n) => key(x.path.slice(0, n + 1))).concat(key(path)))) };
      }
      const value = full.decode(raw, path, ctx, issues, bad) as T;
      return issues.length ? { ok: false, issues } : { ok: true, value };
    },
  };
  if (flags.shape) Object.assign(schema, { shape: flags.shape });
  IMPL.set(schema, full);
  return schema;
}

const same = { decode: (v: unknown) => v, encode: (v: unknown) => v };
const leaf = { kind: 'leaf' as const, ...same };
const desc = (opts: Options) => (opts.description ? { description: opts.description } : {});

function regexSource(re: RegExp): string {
  if (re.flags.replace('u', '') !== '') throw new Error(`schema pattern ${String(re)}: flags other than "u" cannot be expressed in JSON Schema`);
  return re.source;
}

// ---- builders --------------------------------------------------------------------------------------------

function string(opts: Options & { minLength?: number; pattern?: RegExp; patternHint?: string } = {}): Schema<string> {
  return build(
    Type.String({
      ...desc(opts),
      ...(opts.minLength !== undefined ? { minLength: opts.minLength } : {}),
      ...(opts.pattern ? { pattern: regexSource(opts.pattern) } : {}),
      ...(opts.patternHint ? { 'x-hint': opts.patternHint } : {}),
    }),
    leaf,
  );
}

function number(opts: Options & { integer?: boolean; min?: number; max?: number } = {}): Schema<number> {
  const o = { ...desc(opts), ...(opts.min !== undefined ? { minimum: opts.min } : {}), ...(opts.max !== undefined ? { maximum: opts.max } : {}) };
  return build(opts.integer ? Type.Integer(o) : Type.Number(o), leaf);
}

function boolean(opts: Options = {}): Schema<boolean> {
  return build(Type.Boolean(desc(opts)), leaf);
}

function literal<const L extends readonly string[]>(values: L, opts: Options = {}): Schema<L[number]> {
  return build(Type.Unsafe<L[number]>({ type: 'string', enum: [...values], ...desc(opts) }), leaf);
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `500ms`, `30s`, `5m`, `24h`, `7d` into milliseconds; undefined when malformed (or without a unit). */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * (UNIT_MS[m[2] ?? 's'] ?? 1000);
}

/** Milliseconds in the largest unit that divides them exactly: `90000` -> `90s`, `86400000` -> `1d`. */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = UNIT_MS[unit] ?? 1;
    if (ms !== 0 && ms % size === 0) return `${ms / size}${unit}`;
  }
  return ms === 0 ? '0s' : `${ms}ms`;
}

/** A duration written with a unit — `500ms`, `30s`, `5m`, `24h`, `7d` — decoded to milliseconds. A bare number is an error. */
function duration(opts: Options & { minMs?: number } = {}): Schema<number> {
  return build(Type.String({ ...desc(opts), pattern: DURATION.source, 'x-duration': true }), {
    kind: 'leaf',
    decode: (raw, path, _ctx, issues, bad) => {
      if (bad.at.has(key(path))) return raw;
      const ms = parseDuration(raw as string) ?? 0;
      if (opts.minMs !== undefined && ms < opts.minMs) issues.push({ path, message: `must be at least ${formatDuration(opts.minMs)}, got ${String(raw)}` });
      return ms;
    },
    encode: (v) => formatDuration(v as number),
  });
}

function array<T>(item: Schema<T>, opts: Options & { minItems?: number } = {}): Schema<T[]> {
  const it = impl(item);
  return build(Type.Array(item.jsonSchema as TSchema, { ...desc(opts), ...(opts.minItems !== undefined ? { minItems: opts.minItems } : {}) }), {
    kind: 'array',
    item: item,
    decode: (raw, path, ctx, issues, bad) => (bad.at.has(key(path)) ? raw : (raw as unknown[]).map((el, i) => it.decode(el, [...path, i], ctx, issues, bad))),
    encode: (v) => (v as unknown[]).map((el) => it.encode(el)),
  });
}

function record<T>(value: Schema<T>, opts: Options = {}): Schema<Record<string, T>> {
  const it = impl(value);
  const map = (v: unknown, f: (el: unknown, k: string) => unknown) => Object.fromEntries(Object.entries(v as object).map(([k, el]) => [k, f(el, k)]));
  return build(Type.Record(Type.String(), value.jsonSchema as TSchema, desc(opts)), {
    kind: 'record',
    item: value,
    decode: (raw, path, ctx, issues, bad) => (bad.at.has(key(path)) ? raw : map(raw, (el, k) => it.decode(el, [...path, k], ctx, issues, bad))),
    encode: (v) => map(v, (el) => it.encode(el)),
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

/**
 * A strict object: unknown keys are errors, missing required keys are errors. Absent (or null) it decodes
 * as `{}`, so an object whose keys are all optional or defaulted may be left out.
 */
function object<S extends Shape>(shape: S, opts: Options = {}, optional = false): ObjectSchema<S> {
  const entries = Object.entries(shape).map(([k, sub]) => [k, sub, impl(sub)] as const);
  const props: Record<string, TSchema> = {};
  for (const [k, sub, i] of entries) props[k] = i.acceptsAbsent ? Type.Optional(sub.jsonSchema as TSchema) : (sub.jsonSchema as TSchema);
  const allAbsent = entries.every(([, , i]) => i.acceptsAbsent);
  const json = Type.Object(props, { ...desc(opts), additionalProperties: false, ...(allAbsent ? { default: {} } : {}) });
  return build<InferShape<S>>(
    json,
    {
      kind: 'object',
      shape,
      acceptsAbsent: optional || allAbsent,
      decode: (raw, path, ctx, issues, bad) => {
        if (bad.at.has(key(path))) return raw;
        const input = raw as Record<string, unknown>;
        const out: Record<string, unknown> = {};
        for (const [k, , i] of entries) if (input[k] !== undefined) out[k] = i.decode(input[k], [...path, k], ctx, issues, bad);
        return out;
      },
      encode: (v) => {
        const input = v as Record<string, unknown>;
        const out: Record<string, unknown> = {};
        for (const [k, , i] of entries) if (input[k] !== undefined) out[k] = i.encode(input[k]);
        return out;
      },
    },
    { optional, shape },
  ) as ObjectSchema<S>;
}

/** An object block that may be absent; absent decodes to its keys' defaults. */
function section<S extends Shape>(shape: S, opts: Options = {}): ObjectSchema<S> {
  return object(shape, opts, true);
}

function wrap<T>(inner: Schema<unknown>, json: JsonSchema, patch: Partial<Impl>, flags: { optional: boolean; secret: boolean }): Schema<T> {
  const i = impl(inner);
  const shape = (inner as { shape?: Shape }).shape;
  return build<T>(json, { ...i, ...patch }, { ...flags, ...(shape ? { shape } : {}) });
}

function optional<T>(inner: Schema<T>): Schema<T | undefined> & { optional: true } {
  const { default: _dropped, ...json } = inner.jsonSchema;
  const i = impl(inner);
  return wrap<T | undefined>(inner, json, { acceptsAbsent: true, hasDefault: false, decode: (raw, path, ctx, issues, bad) => (raw === undefined ? undefined : i.decode(raw, path, ctx, issues, bad)) }, {
    optional: true,
    secret: inner.secret,
  }) as Schema<T | undefined> & { optional: true };
}

/**
 * A key that may be absent; when absent it decodes to `value` (given decoded: milliseconds for a duration).
 * Typed as plain `Schema<T>` so the decoded object has the key as required.
 */
function withDefault<T>(inner: Schema<T>, value: T): Schema<T> {
  const i = impl(inner);
  return wrap<T>(inner, { ...inner.jsonSchema, default: i.encode(value) }, { acceptsAbsent: true, hasDefault: true, defaultValue: value }, {
    optional: true,
    secret: inner.secret,
  });
}

/** Marks a value as secret: `trellis config print` shows it as `<redacted>`. */
function secret<T>(inner: Schema<T>): Schema<T> {
  return wrap<T>(inner, { ...inner.jsonSchema, 'x-secret': true }, {}, { optional: inner.optional, secret: true });
}

/** Adds a check after decoding; the message explains what is wrong. */
function refine<T>(inner: Schema<T>, check: (value: T) => string | undefined): Schema<T> {
  const i = impl(inner);
  return wrap<T>(
    inner,
    inner.jsonSchema,
    {
      decode: (raw, path, ctx, issues, bad) => {
        const before = issues.length;
        const v = i.decode(raw, path, ctx, issues, bad);
        if (issues.length === before && v !== undefined && !bad.under.has(key(path))) {
          const problem = check(v as T);
          if (problem) issues.push({ path, message: problem });
        }
        return v;
      },
    },
    { optional: inner.optional, secret: inner.secret },
  );
}

/**
 * A filesystem path, resolved against the config file's directory. `mustBe` checks what exists there
 * when the config is decoded, so `trellis validate` catches a missing directory.
 */
function fsPath(opts: Options & { mustBe?: 'directory' | 'file' } = {}): Schema<string> {
  return build(Type.String({ ...desc(opts), minLength: 1, 'x-path': opts.mustBe ?? true }), {
    kind: 'leaf',
    decode: (raw, path, ctx, issues, bad) => {
      if (bad.at.has(key(path))) return raw;
      const v = raw as string;
      const abs = isAbsolute(v) ? v : resolvePath(ctx.baseDir, v);
      if (opts.mustBe) {
        let st;
        try {
          st = statSync(abs);
        } catch {
          issues.push({ path, message: `must be a ${opts.mustBe} (${abs} does not exist)` });
          return abs;
        }
        if (opts.mustBe === 'directory' ? !st.isDirectory() : !st.isFile()) issues.push({ path, message: `must be a ${opts.mustBe} (${abs} is not one)` });
      }
      return abs;
    },
    encode: (v) => v,
  });
}

/** Any value, passed through unchecked (for plugin-owned sub-blocks validated elsewhere). */
function unknownValue(opts: Options = {}): Schema<unknown> {
  return build(Type.Unknown(desc(opts)), leaf);
}

export const s = {
  string,
  number,
  boolean,
  literal,
  duration,
  array,
  record,
  object: <S extends Shape>(shape: S, opts: Options = {}): ObjectSchema<S> => object(shape, opts),
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
