import type { XdsResource } from '@trellis/plugin-sdk';

/**
 * State-of-the-world response bytes, assembled from per-resource pieces encoded once for the whole process.
 * A response is `version_info` (field 1), one `resources` entry (field 2, an Any) per resource, `type_url`
 * (field 4) and `nonce` (field 5): every part but the resource entries is a few bytes, so a response is one
 * allocation and a copy of shared entries — no encoder run and no per-snapshot body kept alive.
 */

/** Field 2 of DiscoveryResponse with its length prefix, wrapping `Any{type_url: 1, value: 2}`, per resource. */
const entries = new WeakMap<XdsResource, Uint8Array>();
const utf8 = new Map<string, Uint8Array>();

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(buf: Uint8Array, at: number, n: number): number {
  while (n >= 0x80) {
    buf[at++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[at++] = n;
  return at;
}

/** A length-delimited field (`tag`, length, bytes) of known total size. */
function fieldSize(payload: number): number {
  return 1 + varintSize(payload) + payload;
}

function writeField(buf: Uint8Array, at: number, tag: number, payload: Uint8Array): number {
  buf[at++] = tag;
  at = writeVarint(buf, at, payload.byteLength);
  buf.set(payload, at);
  return at + payload.byteLength;
}

/** Type URLs repeat endlessly: their UTF-8 is kept (bounded by the handful of xDS types). */
function typeUrlBytes(typeUrl: string): Uint8Array {
  let b = utf8.get(typeUrl);
  if (!b) {
    b = Buffer.from(typeUrl, 'utf8');
    if (utf8.size < 64) utf8.set(typeUrl, b);
  }
  return b;
}

/** The resource's `resources` entry of a DiscoveryResponse (tag, length, Any), encoded once per resource object. */
export function sotwEntryOf(r: XdsResource): Uint8Array {
  let e = entries.get(r);
  if (!e) {
    const url = typeUrlBytes(r.typeUrl);
    const any = fieldSize(url.byteLength) + fieldSize(r.body.byteLength);
    e = new Uint8Array(fieldSize(any));
    let at = 0;
    e[at++] = (2 << 3) | 2;
    at = writeVarint(e, at, any);
    at = writeField(e, at, (1 << 3) | 2, url);
    writeField(e, at, (2 << 3) | 2, r.body);
    entries.set(r, e);
  }
  return e;
}

/** A DiscoveryResponse's bytes: version, the resources' shared entries, type URL and nonce. */
export function encodeSotwResponse(version: string, typeUrl: string, resources: readonly XdsResource[], nonce: string): Buffer {
  const v = Buffer.from(version, 'utf8');
  const t = typeUrlBytes(typeUrl);
  const n = Buffer.from(nonce, 'utf8');
  const parts = resources.map(sotwEntryOf);
  let size = fieldSize(v.byteLength) + fieldSize(t.byteLength) + fieldSize(n.byteLength);
  for (const p of parts) size += p.byteLength;
  // Short-lived (grpc-js copies it into its frame), so the pool is fine for small ones.
  const out = Buffer.allocUnsafe(size);
  let at = writeField(out, 0, (1 << 3) | 2, v);
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  at = writeField(out, at, (4 << 3) | 2, t);
  writeField(out, at, (5 << 3) | 2, n);
  return out;
}
