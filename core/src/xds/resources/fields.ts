import protobuf from 'protobufjs';
import { lookupMessage } from './protos.ts';

/**
 * The production encode's cheap guard: every key of every message object must be a field of its type, every
 * message-typed field an object (a list when repeated, an object when a map), every Any `@type` a loaded type.
 * Without it protobufjs's `fromObject` silently drops unknown keys and misplaced values. Scalar value types,
 * enum names and PGV rules are left to the compiler (typed inputs) and to the full strict walk (`walk.ts`),
 * which tests and `trellis proxy-config validate` run. Per-type field tables are built once per type.
 */

interface FieldInfo {
  /** The message type of the field (or of the map's values), undefined for scalars and enums. */
  readonly type: protobuf.Type | undefined;
  readonly repeated: boolean;
  readonly map: boolean;
}

interface MessageInfo {
  readonly name: string;
  readonly isAny: boolean;
  readonly fields: ReadonlyMap<string, FieldInfo>;
}

const infos = new WeakMap<protobuf.Type, MessageInfo>();
const anyTypes = new Map<string, protobuf.Type | null>();
const MAX_PROBLEMS = 10;

function infoOf(type: protobuf.Type): MessageInfo {
  let info = infos.get(type);
  if (info) return info;
  const fields = new Map<string, FieldInfo>();
  for (const f of type.fieldsArray) {
    const rt = f.resolvedType;
    fields.set(f.name, { type: rt instanceof protobuf.Type ? rt : undefined, repeated: f.repeated, map: f.map });
  }
  const name = type.fullName.slice(1);
  info = { name, isAny: name === 'google.protobuf.Any', fields };
  infos.set(type, info);
  return info;
}

function anyType(typeUrl: string): protobuf.Type | undefined {
  let t = anyTypes.get(typeUrl);
  if (t === undefined) anyTypes.set(typeUrl, (t = lookupMessage(typeUrl) ?? null));
  return t ?? undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}

class FieldCheck {
  readonly problems: string[] = [];
  readonly #path: string[] = ['$'];

  #problem(text: string): void {
    if (this.problems.length < MAX_PROBLEMS) this.problems.push(`${this.#path.join('')}: ${text}`);
  }

  message(type: protobuf.Type, v: unknown): void {
    const info = infoOf(type);
    if (!isObject(v)) return this.#problem(`expected ${info.name} object, got ${describe(v)}`);
    if (info.isAny) return this.#any(v);
    this.#fields(info, v, false);
  }

  #fields(info: MessageInfo, v: Record<string, unknown>, inAny: boolean): void {
    for (const key in v) {
      if (this.problems.length >= MAX_PROBLEMS) return;
      const f = info.fields.get(key);
      if (!f) {
        // `@type` belongs to the enclosing Any (protobufjs's fromObject ignores it in the payload).
        if (key === '@type' && inAny) continue;
        this.#path.push(`.${key}`);
        this.#problem(`${info.name} has no field "${key}"`);
        this.#path.pop();
        continue;
      }
      const fv = v[key];
      if (f.type === undefined || fv === null || fv === undefined) continue;
      this.#path.push(`.${key}`);
      if (f.map) {
        if (!isObject(fv)) this.#problem(`expected a map object, got ${describe(fv)}`);
        else
          for (const k in fv) {
            this.#path.push(`.${k}`);
            this.message(f.type, fv[k]);
            this.#path.pop();
          }
      } else if (f.repeated) {
        if (!Array.isArray(fv)) this.#problem(`expected a list, got ${describe(fv)}`);
        else
          for (let i = 0; i < fv.length; i++) {
            this.#path.push(`[${i}]`);
            this.message(f.type, fv[i]);
            this.#path.pop();
          }
      } else {
        this.message(f.type, fv);
      }
      this.#path.pop();
    }
  }

  #any(v: Record<string, unknown>): void {
    const url = v['@type'];
    if (url === undefined) {
      if (typeof v.type_url !== 'string' || !Object.keys(v).every((k) => k === 'type_url' || k === 'value')) this.#problem('Any without "@type"');
      return;
    }
    const inner = typeof url === 'string' ? anyType(url) : undefined;
    if (!inner) return this.#problem(`unknown Any @type ${JSON.stringify(url)}`);
    const info = infoOf(inner);
    if (info.isAny) return this.#problem('an Any holding an Any is not supported');
    this.#path.push(`<${info.name}>`);
    this.#fields(info, v, true);
    this.#path.pop();
  }
}

/** Problems (with `$.a.b[2].c` paths) that would make protobufjs drop or misplace part of `obj`. */
export function checkFields(type: protobuf.Type, obj: unknown): string[] {
  const c = new FieldCheck();
  c.message(type, obj);
  return c.problems;
}
