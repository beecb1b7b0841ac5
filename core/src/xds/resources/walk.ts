import protobuf from 'protobufjs';
import { lookupMessage } from './protos.ts';

/**
 * Walks a resource object (proto field names, `'@type'` in Any, proto3-JSON forms of the well-known types)
 * against its message type. Two jobs in one pass: collect problems (unknown keys, wrong value types, unknown
 * `@type`, undefined enum names) and produce the object protobufjs's `fromObject` understands (Any packed to
 * `{type_url, value}`, Duration/Timestamp strings, wrapper scalars and Struct JSON expanded), because
 * `fromObject` silently drops whatever it does not understand.
 */

/** An extra per-message rule (e.g. PGV `validate.rules`, added later): returns problems for `obj` at `path`. */
export type MessageRule = (type: protobuf.Type, obj: Record<string, unknown>, path: string) => string[];

export interface WalkOptions {
  rules?: readonly MessageRule[];
}

export interface WalkResult {
  problems: string[];
  value: Record<string, unknown>;
}

const INT32 = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32']);
const INT64 = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const WRAPPERS = new Set(
  ['Double', 'Float', 'Int64', 'UInt64', 'Int32', 'UInt32', 'Bool', 'String', 'Bytes'].map((w) => `.google.protobuf.${w}Value`),
);
const DURATION = /^(-?\d+)(?:\.(\d{1,9}))?s$/;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Uint8Array) return 'bytes';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}

// protobufjs recomputes `fullName` by walking up the parents on every read; the walker reads it per message.
const fullNames = new WeakMap<protobuf.ReflectionObject, string>();
function fullNameOf(t: protobuf.ReflectionObject): string {
  let n = fullNames.get(t);
  if (n === undefined) fullNames.set(t, (n = t.fullName));
  return n;
}

class Walker {
  readonly problems: string[] = [];
  constructor(private readonly rules: readonly MessageRule[]) {}

  message(type: protobuf.Type, v: unknown, path: string): unknown {
    const special = this.wellKnown(type, v, path);
    if (special !== NOT_SPECIAL) return special;
    if (!isPlainObject(v)) {
      this.problems.push(`${path}: expected ${type.fullName.slice(1)} object, got ${describe(v)}`);
      return v;
    }
    if (fullNameOf(type) === '.google.protobuf.Any') return this.any(v, path);
    const out: Record<string, unknown> = {};
    for (const [key, fv] of Object.entries(v)) {
      const field = type.fields[key];
      const fpath = `${path}.${key}`;
      if (!field) {
        this.problems.push(`${fpath}: ${type.fullName.slice(1)} has no field "${key}"`);
        continue;
      }
      if (fv === null || fv === undefined) continue;
      out[key] = this.field(field, fv, fpath);
    }
    for (const rule of this.rules) this.problems.push(...rule(type, v, path));
    return out;
  }

  private field(field: protobuf.Field, v: unknown, path: string): unknown {
    if (field.map) {
      if (!isPlainObject(v)) {
        this.problems.push(`${path}: expected a map object, got ${describe(v)}`);
        return v;
      }
      const out: Record<string, unknown> = {};
      for (const [k, mv] of Object.entries(v)) out[k] = this.single(field, mv, `${path}.${k}`);
      return out;
    }
    if (field.repeated) {
      if (!Array.isArray(v)) {
        this.problems.push(`${path}: expected a list, got ${describe(v)}`);
        return v;
      }
      return v.map((item, i) => this.single(field, item, `${path}[${i}]`));
    }
    return this.single(field, v, path);
  }

  private single(field: protobuf.Field, v: unknown, path: string): unknown {
    const rt = field.resolvedType;
    if (rt instanceof protobuf.Type) return this.message(rt, v, path);
    if (rt instanceof protobuf.Enum) {
      if (typeof v === 'string' ? !(v in rt.values) : typeof v !== 'number' || rt.valuesById[v] === undefined)
        this.problems.push(`${path}: ${describe(v)} is not a value of enum ${rt.fullName.slice(1)}`);
      return v;
    }
    const t = field.type;
    let ok: boolean;
    if (t === 'string') ok = typeof v === 'string';
    else if (t === 'bool') ok = typeof v === 'boolean';
    else if (t === 'double' || t === 'float') ok = typeof v === 'number' || v === 'NaN' || v === 'Infinity' || v === '-Infinity';
    else if (INT32.has(t)) ok = typeof v === 'number' && Number.isInteger(v);
    else if (INT64.has(t)) ok = (typeof v === 'number' && Number.isInteger(v)) || (typeof v === 'string' && /^-?\d+$/.test(v));
    else if (t === 'bytes') ok = typeof v === 'string' || v instanceof Uint8Array;
    else ok = true;
    if (!ok) this.problems.push(`${path}: expected ${t}, got ${describe(v)}`);
    return v;
  }

  private any(v: Record<string, unknown>, path: string): unknown {
    const typeUrl = v['@type'];
    if (typeUrl === undefined) {
      // Already-packed form {type_url, value}.
      if (typeof v.type_url === 'string' && Object.keys(v).every((k) => k === 'type_url' || k === 'value')) return v;
      this.problems.push(`${path}: Any without "@type"`);
      return v;
    }
    if (typeof typeUrl !== 'string') {
      this.problems.push(`${path}.@type: expected string, got ${describe(typeUrl)}`);
      return v;
    }
    const inner = lookupMessage(typeUrl);
    if (!inner) {
      this.problems.push(`${path}.@type: unknown type "${typeUrl}"`);
      return v;
    }
    const { '@type': _drop, ...rest } = v;
    // proto3 JSON puts well-known types with a non-object form under "value".
    const payload = isWellKnownScalar(inner) && 'value' in rest && Object.keys(rest).length === 1 ? rest.value : rest;
    const before = this.problems.length;
    const normal = this.message(inner, payload, `${path}<${inner.fullName.slice(1)}>`);
    if (this.problems.length > before) return v;
    return { type_url: typeUrl, value: inner.encode(inner.fromObject(normal as Record<string, unknown>)).finish() };
  }

  private wellKnown(type: protobuf.Type, v: unknown, path: string): unknown {
    const name = fullNameOf(type);
    if (name === '.google.protobuf.Duration' && typeof v === 'string') {
      const m = DURATION.exec(v);
      if (!m) {
        this.problems.push(`${path}: "${v}" is not a duration like "1.5s"`);
        return v;
      }
      const seconds = Number(m[1]);
      const nanos = Number((m[2] ?? '').padEnd(9, '0')) * (v.startsWith('-') ? -1 : 1);
      return { seconds, nanos };
    }
    if (name === '.google.protobuf.Timestamp' && typeof v === 'string') {
      const ms = Date.parse(v);
      if (Number.isNaN(ms)) {
        this.problems.push(`${path}: "${v}" is not an RFC 3339 timestamp`);
        return v;
      }
      return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
    }
    if (WRAPPERS.has(name) && !isPlainObject(v)) {
      const field = type.fields.value;
      return field ? { value: this.single(field, v, path) } : v;
    }
    if (name === '.google.protobuf.Struct') {
      if (!isPlainObject(v)) {
        this.problems.push(`${path}: expected a JSON object, got ${describe(v)}`);
        return v;
      }
      if (isPlainObject(v.fields) && Object.keys(v).length === 1) return v;
      return { fields: Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonValue(x)])) };
    }
    if (name === '.google.protobuf.Value') return jsonValue(v);
    if (name === '.google.protobuf.ListValue' && Array.isArray(v)) return { values: v.map(jsonValue) };
    if (name === '.google.protobuf.FieldMask' && typeof v === 'string') return { paths: v ? v.split(',') : [] };
    return NOT_SPECIAL;
  }
}

const NOT_SPECIAL = Symbol('not special');

function isWellKnownScalar(t: protobuf.Type): boolean {
  return (
    WRAPPERS.has(fullNameOf(t)) ||
    ['.google.protobuf.Duration', '.google.protobuf.Timestamp', '.google.protobuf.Value', '.google.protobuf.ListValue', '.google.protobuf.Struct', '.google.protobuf.FieldMask'].includes(fullNameOf(t))
  );
}

function jsonValue(v: unknown): Record<string, unknown> {
  if (v === null || v === undefined) return { null_value: 'NULL_VALUE' };
  if (typeof v === 'number') return { number_value: v };
  if (typeof v === 'string') return { string_value: v };
  if (typeof v === 'boolean') return { bool_value: v };
  if (Array.isArray(v)) return { list_value: { values: v.map(jsonValue) } };
  return { struct_value: { fields: Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonValue(x)])) } };
}

export function walk(type: protobuf.Type, obj: Record<string, unknown>, options: WalkOptions = {}): WalkResult {
  const w = new Walker(options.rules ?? []);
  const value = w.message(type, obj, '$');
  return { problems: w.problems, value: isPlainObject(value) ? value : obj };
}
