import protobuf from 'protobufjs';

/**
 * protoc-gen-validate (`validate.rules`) checks, read from the loaded protos' field options
 * (protobufjs `field.parsedOptions`, `oneof.options['(validate.required)']`). Covers the rule kinds Envoy's
 * resources use: message.required, repeated min/max_items (and item rules), map min/max_pairs, string
 * min/max_len, min/max_bytes, prefix/suffix/contains, pattern, in/not_in, const, numeric const/gt/gte/lt/lte/
 * in/not_in (also on wrapper types), enum defined_only/in/not_in, duration required/gt/gte/lt/lte, any required,
 * and required oneofs. Rules are checked against the object form the strict walker sees (proto field names,
 * Duration strings like "1s", wrapper values as plain scalars).
 */

type Obj = Record<string, unknown>;
type Rules = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

const fieldRules = new WeakMap<protobuf.Field, Rules | null>();
const fullNames = new WeakMap<protobuf.Type, string>();

/** protobufjs recomputes `fullName` by walking the parents on every access; remember it per type. */
function fullNameOf(t: protobuf.Type): string {
  let n = fullNames.get(t);
  if (n === undefined) fullNames.set(t, (n = t.fullName));
  return n;
}

/** The field's merged `(validate.rules)` option, or null. */
export function rulesOf(field: protobuf.Field): Rules | null {
  const cached = fieldRules.get(field);
  if (cached !== undefined) return cached;
  let merged: Rules | null = null;
  for (const opt of field.parsedOptions ?? []) {
    const r = (opt)['(validate.rules)'];
    if (isObj(r)) merged = deepMerge(merged ?? {}, r);
  }
  fieldRules.set(field, merged);
  return merged;
}

function deepMerge(a: Rules, b: Rules): Rules {
  const out: Rules = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = isObj(prev) && isObj(v) ? deepMerge(prev, v) : v;
  }
  return out;
}

const NUMERIC = ['float', 'double', 'int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'fixed32', 'fixed64', 'sfixed32', 'sfixed64'];
const WRAPPER_KIND: Record<string, string> = {
  '.google.protobuf.DoubleValue': 'double',
  '.google.protobuf.FloatValue': 'float',
  '.google.protobuf.Int64Value': 'int64',
  '.google.protobuf.UInt64Value': 'uint64',
  '.google.protobuf.Int32Value': 'int32',
  '.google.protobuf.UInt32Value': 'uint32',
  '.google.protobuf.BoolValue': 'bool',
  '.google.protobuf.StringValue': 'string',
  '.google.protobuf.BytesValue': 'bytes',
};

function num(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  if (isObj(v) && 'low' in v && 'high' in v) return protobuf.util.LongBits.from(v as unknown as protobuf.Long).toNumber(false);
  return undefined;
}

/** Seconds as a number from "1.5s" or {seconds, nanos}. */
function durationSeconds(v: unknown): number | undefined {
  if (typeof v === 'string') {
    const m = /^(-?\d+)(?:\.(\d{1,9}))?s$/.exec(v);
    if (!m) return undefined;
    const frac = Number(`0.${m[2] ?? '0'}`);
    return Number(m[1]) + (v.startsWith('-') ? -frac : frac);
  }
  if (isObj(v)) return (num(v.seconds) ?? 0) + (num(v.nanos) ?? 0) / 1e9;
  return undefined;
}

const fmt = (v: unknown): string => JSON.stringify(v);

/** Numeric range checks shared by numbers and durations (PGV: gt > lt means "outside the range"). */
function range(v: number, r: Rules, read: (x: unknown) => number | undefined, show: (x: unknown) => string): string[] {
  const out: string[] = [];
  const c = read(r.const);
  if (r.const !== undefined && c !== undefined && v !== c) out.push(`must equal ${show(r.const)}`);
  const lower = r.gt !== undefined ? { v: read(r.gt), ex: true, raw: r.gt } : r.gte !== undefined ? { v: read(r.gte), ex: false, raw: r.gte } : undefined;
  const upper = r.lt !== undefined ? { v: read(r.lt), ex: true, raw: r.lt } : r.lte !== undefined ? { v: read(r.lte), ex: false, raw: r.lte } : undefined;
  const aboveLower = (l: NonNullable<typeof lower>) => (l.v === undefined ? true : l.ex ? v > l.v : v >= l.v);
  const belowUpper = (u: NonNullable<typeof upper>) => (u.v === undefined ? true : u.ex ? v < u.v : v <= u.v);
  const lowerText = (l: NonNullable<typeof lower>) => `${l.ex ? '>' : '>='} ${show(l.raw)}`;
  const upperText = (u: NonNullable<typeof upper>) => `${u.ex ? '<' : '<='} ${show(u.raw)}`;
  if (lower && upper && lower.v !== undefined && upper.v !== undefined && lower.v > upper.v) {
    // Exclusive range: valid values lie outside [upper, lower].
    if (!aboveLower(lower) && !belowUpper(upper)) out.push(`must be ${lowerText(lower)} or ${upperText(upper)}`);
  } else {
    if (lower && !aboveLower(lower)) out.push(`must be ${lowerText(lower)}`);
    if (upper && !belowUpper(upper)) out.push(`must be ${upperText(upper)}`);
  }
  if (Array.isArray(r.in) && r.in.length > 0 && !r.in.some((x) => read(x) === v)) out.push(`must be one of ${fmt(r.in)}`);
  if (Array.isArray(r.not_in) && r.not_in.some((x) => read(x) === v)) out.push(`must not be one of ${fmt(r.not_in)}`);
  return out;
}

const showDuration = (x: unknown): string => `${durationSeconds(x) ?? 0}s`;

function stringRules(v: string, r: Rules): string[] {
  const out: string[] = [];
  const chars = [...v].length;
  const bytes = Buffer.byteLength(v, 'utf8');
  const n = (x: unknown) => num(x);
  if (r.const !== undefined && v !== r.const) out.push(`must equal ${fmt(r.const)}`);
  if (r.len !== undefined && chars !== n(r.len)) out.push(`must be ${n(r.len)} characters long`);
  if (r.min_len !== undefined && chars < (n(r.min_len) ?? 0)) out.push(`must be at least ${n(r.min_len)} character(s) long`);
  if (r.max_len !== undefined && chars > (n(r.max_len) ?? Infinity)) out.push(`must be at most ${n(r.max_len)} characters long`);
  if (r.min_bytes !== undefined && bytes < (n(r.min_bytes) ?? 0)) out.push(`must be at least ${n(r.min_bytes)} byte(s) long`);
  if (r.max_bytes !== undefined && bytes > (n(r.max_bytes) ?? Infinity)) out.push(`must be at most ${n(r.max_bytes)} bytes long`);
  if (typeof r.prefix === 'string' && !v.startsWith(r.prefix)) out.push(`must start with ${fmt(r.prefix)}`);
  if (typeof r.suffix === 'string' && !v.endsWith(r.suffix)) out.push(`must end with ${fmt(r.suffix)}`);
  if (typeof r.contains === 'string' && !v.includes(r.contains)) out.push(`must contain ${fmt(r.contains)}`);
  if (typeof r.pattern === 'string') {
    // RE2 patterns in Envoy's protos are also valid JavaScript regular expressions; skip any that is not.
    let re: RegExp | undefined;
    try {
      re = new RegExp(r.pattern, 'u');
    } catch {
      re = undefined;
    }
    if (re && !re.test(v)) out.push(`must match ${r.pattern}`);
  }
  if (Array.isArray(r.in) && r.in.length > 0 && !r.in.includes(v)) out.push(`must be one of ${fmt(r.in)}`);
  if (Array.isArray(r.not_in) && r.not_in.includes(v)) out.push(`must not be one of ${fmt(r.not_in)}`);
  if (r.well_known_regex === 'HTTP_HEADER_NAME' || r.well_known_regex === 'HTTP_HEADER_VALUE') {
    // strict: RFC 7230 tokens (names) / no control characters (values); `strict: false` only forbids NUL, CR, LF.
    const name = r.well_known_regex === 'HTTP_HEADER_NAME';
    const ok = r.strict === false ? !/[\0\r\n]/.test(v) : name ? /^:?[0-9a-zA-Z!#$%&'*+\-.^_|~`]+$/.test(v) : ![...v].some((c) => { const n = c.charCodeAt(0); return (n < 0x20 && n !== 0x09) || n === 0x7f; });
    if (!ok) out.push(`must be a valid HTTP header ${name ? 'name' : 'value'}`);
  }
  return out;
}

function bytesLength(v: unknown): number | undefined {
  if (v instanceof Uint8Array) return v.length;
  if (typeof v === 'string') return Buffer.from(v, 'base64').length;
  return undefined;
}

/** Rules on one present (or, for plain scalars, defaulted) value. */
function valueRules(field: protobuf.Field, v: unknown, r: Rules): string[] {
  const rt = field.resolvedType;
  const typeName = rt instanceof protobuf.Type ? fullNameOf(rt) : undefined;
  const kind = typeName !== undefined ? WRAPPER_KIND[typeName] : field.type;
  if (rt instanceof protobuf.Enum) {
    const e = r.enum;
    if (!isObj(e)) return [];
    const n = typeof v === 'string' ? rt.values[v] : typeof v === 'number' ? v : undefined;
    const out: string[] = [];
    if (e.defined_only === true && (n === undefined || rt.valuesById[n] === undefined)) out.push(`${fmt(v)} is not a defined value of ${rt.name}`);
    if (n !== undefined) out.push(...range(n, { const: e.const, in: e.in, not_in: e.not_in }, num, fmt));
    return out;
  }
  if (typeName === '.google.protobuf.Duration') {
    const d = r.duration;
    if (!isObj(d)) return [];
    const secs = durationSeconds(v);
    return secs === undefined ? [] : range(secs, d, durationSeconds, showDuration);
  }
  if (typeName === '.google.protobuf.Any') {
    const a = r.any;
    if (!isObj(a) || !isObj(v)) return [];
    const url = v['@type'] ?? v.type_url;
    const out: string[] = [];
    if (Array.isArray(a.in) && a.in.length > 0 && !a.in.includes(url)) out.push(`type must be one of ${fmt(a.in)}`);
    if (Array.isArray(a.not_in) && a.not_in.includes(url)) out.push(`type must not be one of ${fmt(a.not_in)}`);
    return out;
  }
  if (kind === undefined) return [];
  const scalar = rt instanceof protobuf.Type && isObj(v) ? v.value : v;
  const sub = r[kind];
  if (!isObj(sub)) return [];
  if (kind === 'string') return typeof scalar === 'string' ? stringRules(scalar, sub) : [];
  if (kind === 'bytes') {
    const len = bytesLength(scalar ?? '');
    const out: string[] = [];
    if (len !== undefined && sub.min_len !== undefined && len < (num(sub.min_len) ?? 0)) out.push(`must be at least ${fmt(sub.min_len)} byte(s)`);
    if (len !== undefined && sub.max_len !== undefined && len > (num(sub.max_len) ?? Infinity)) out.push(`must be at most ${fmt(sub.max_len)} bytes`);
    return out;
  }
  if (kind === 'bool') return sub.const !== undefined && scalar !== sub.const ? [`must be ${fmt(sub.const)}`] : [];
  if (NUMERIC.includes(kind)) {
    const n = num(scalar ?? 0);
    return n === undefined ? [] : range(n, sub, num, fmt);
  }
  return [];
}

function defaultOf(field: protobuf.Field): unknown {
  if (field.resolvedType instanceof protobuf.Enum) return 0;
  if (field.type === 'string') return '';
  if (field.type === 'bool') return false;
  if (field.type === 'bytes') return '';
  if (NUMERIC.includes(field.type)) return 0;
  return undefined;
}

/** PGV problems for one message object (not its children: the walker calls this for every message). */
export function pgvRule(type: protobuf.Type, obj: Record<string, unknown>, path: string): string[] {
  const problems: string[] = [];
  const push = (p: string, msgs: string[]) => {
    for (const m of msgs) problems.push(`${p}: ${m}`);
  };
  for (const oneof of type.oneofsArray) {
    if (oneof.options?.['(validate.required)'] !== true) continue;
    if (!oneof.fieldsArray.some((f) => obj[f.name] !== undefined && obj[f.name] !== null))
      problems.push(`${path}: one of ${oneof.fieldsArray.map((f) => f.name).join(', ')} is required`);
  }
  for (const field of type.fieldsArray) {
    const r = rulesOf(field);
    if (!r) continue;
    const fpath = `${path}.${field.name}`;
    const raw = obj[field.name];
    const present = raw !== undefined && raw !== null;
    const isMessage = field.resolvedType instanceof protobuf.Type;
    const msg = r.message;
    if (isObj(msg) && msg.skip === true) continue;
    if (field.map) {
      const m = r.map;
      const size = isObj(raw) ? Object.keys(raw).length : 0;
      if (isObj(m) && m.min_pairs !== undefined && size < (num(m.min_pairs) ?? 0)) problems.push(`${fpath}: must have at least ${fmt(m.min_pairs)} entr(ies)`);
      if (isObj(m) && m.max_pairs !== undefined && size > (num(m.max_pairs) ?? Infinity)) problems.push(`${fpath}: must have at most ${fmt(m.max_pairs)} entries`);
      continue;
    }
    if (field.repeated) {
      const rep = r.repeated;
      const list = Array.isArray(raw) ? raw : [];
      if (!isObj(rep)) continue;
      if (rep.min_items !== undefined && list.length < (num(rep.min_items) ?? 0)) problems.push(`${fpath}: must have at least ${fmt(rep.min_items)} item(s)`);
      if (rep.max_items !== undefined && list.length > (num(rep.max_items) ?? Infinity)) problems.push(`${fpath}: must have at most ${fmt(rep.max_items)} items`);
      if (rep.unique === true && new Set(list.map((x) => JSON.stringify(x))).size !== list.length) problems.push(`${fpath}: items must be unique`);
      if (isObj(rep.items)) {
        const items = rep.items;
        list.forEach((item, i) => {
          if (item !== null && item !== undefined) push(`${fpath}[${i}]`, valueRules(field, item, items));
        });
      }
      continue;
    }
    // Rules on a oneof member apply only when that member is the one set.
    if (!present && field.partOf) continue;
    const required = (isObj(msg) && msg.required === true) || (isObj(r.duration) && r.duration.required === true) || (isObj(r.any) && r.any.required === true);
    if (required && !present) {
      problems.push(`${fpath}: is required`);
      continue;
    }
    if (!present) {
      // Proto3 scalars always have a value (their default) unless they belong to a oneof or ignore_empty is set.
      if (isMessage || field.partOf || hasIgnoreEmpty(r)) continue;
      push(fpath, valueRules(field, defaultOf(field), r));
      continue;
    }
    if (hasIgnoreEmpty(r) && isEmpty(raw)) continue;
    push(fpath, valueRules(field, raw, r));
  }
  return problems;
}

function hasIgnoreEmpty(r: Rules): boolean {
  return Object.values(r).some((sub) => isObj(sub) && sub.ignore_empty === true);
}

function isEmpty(v: unknown): boolean {
  return v === '' || v === 0 || v === false || (Array.isArray(v) && v.length === 0);
}
