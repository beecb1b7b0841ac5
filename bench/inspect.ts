/**
 * What a simulated proxy must subscribe to next, the way Envoy finds it: EDS names in clusters, RDS names in
 * listeners, SDS names in both. Needs a real decode, so it is done once per distinct resource body (proxies of
 * one identity receive byte-identical resources) and cached by a hash of the bytes.
 */
import { createHash } from 'node:crypto';
import type protobuf from 'protobufjs';
import { TypeUrls } from '@trellis/plugin-sdk';
// eslint-disable-next-line no-restricted-imports -- @trellis/core does not export the proto root; the bench reads the same protos.
import { edsNamesOf, lookupMessage, rdsNamesOf } from '../core/src/xds/index.ts';
import { splitAny } from './wire-proto.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
const CONV: protobuf.IConversionOptions = { longs: String, enums: String, bytes: Buffer, defaults: false };

/** Decodes a message and every nested Any it can resolve, writing `'@type'` like the resource objects do. */
function expand(type: protobuf.Type, bytes: Uint8Array): Obj {
  return expandValue(type.toObject(type.decode(bytes), CONV)) as Obj;
}

function expandValue(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(expandValue);
  if (!isObj(v)) return v;
  if (typeof v.type_url === 'string' && v.value instanceof Uint8Array) {
    const t = lookupMessage(v.type_url);
    if (t) return { '@type': v.type_url, ...expand(t, v.value) };
  }
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) out[k] = expandValue(x);
  return out;
}

function sdsNamesOf(v: unknown, into: Set<string>): void {
  if (Array.isArray(v)) {
    for (const x of v) sdsNamesOf(x, into);
    return;
  }
  if (!isObj(v)) return;
  for (const [k, x] of Object.entries(v)) {
    if (k === 'tls_certificate_sds_secret_configs' && Array.isArray(x)) {
      for (const c of x) if (isObj(c) && typeof c.name === 'string') into.add(c.name);
    } else if (k === 'validation_context_sds_secret_config' && isObj(x) && typeof x.name === 'string') into.add(x.name);
    else sdsNamesOf(x, into);
  }
}

export interface References {
  /** The resource's own name. */
  name: string;
  eds: string[];
  rds: string[];
  sds: string[];
}

export class ReferenceCache {
  readonly #cache = new Map<string, References>();
  decodes = 0;

  /** `any`: the raw google.protobuf.Any bytes of a Cluster or Listener. */
  of(any: Uint8Array): References {
    const key = createHash('sha1').update(any).digest('base64');
    let refs = this.#cache.get(key);
    if (refs) return refs;
    this.decodes++;
    const { typeUrl, value } = splitAny(any);
    const t = lookupMessage(typeUrl);
    const obj = t ? expand(t, value) : {};
    const sds = new Set<string>();
    sdsNamesOf(obj, sds);
    refs = {
      name: typeof obj.name === 'string' ? obj.name : '',
      eds: typeUrl === TypeUrls.cluster ? edsNamesOf(obj) : [],
      rds: typeUrl === TypeUrls.listener ? rdsNamesOf(obj) : [],
      sds: [...sds],
    };
    this.#cache.set(key, refs);
    return refs;
  }
}
