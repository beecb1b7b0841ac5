/**
 * Just enough of the ADS messages for simulated proxies: requests are encoded by hand, responses are decoded
 * down to their envelope and the `resources` stay raw bytes (an Envoy-sized client must not pay for a full
 * decode of every resource; the controller's cost is what is being measured).
 */
import protobuf from 'protobufjs';

export interface SotwRequest {
  versionInfo: string;
  nodeId?: string;
  resourceNames: readonly string[];
  typeUrl: string;
  responseNonce: string;
  errorMessage?: string;
}

export interface DeltaRequest {
  nodeId?: string;
  typeUrl: string;
  subscribe: readonly string[];
  unsubscribe: readonly string[];
  responseNonce: string;
  errorMessage?: string;
}

export interface SotwResponse {
  versionInfo: string;
  /** Each resource as the raw bytes of its google.protobuf.Any. */
  resources: Uint8Array[];
  typeUrl: string;
  nonce: string;
}

export interface DeltaResource {
  name: string;
  version: string;
  /** Raw bytes of the google.protobuf.Any (empty when absent). */
  any: Uint8Array;
}

export interface DeltaResponse {
  systemVersionInfo: string;
  resources: DeltaResource[];
  typeUrl: string;
  removed: string[];
  nonce: string;
}

function writeNode(w: protobuf.Writer, field: number, nodeId: string): void {
  // config.core.v3.Node { id = 1; cluster = 2 }
  w.uint32((field << 3) | 2).fork().uint32((1 << 3) | 2).string(nodeId).ldelim();
}

function writeStatus(w: protobuf.Writer, field: number, message: string): void {
  // google.rpc.Status { code = 1; message = 2 } — code 3 INVALID_ARGUMENT, what Envoy sends on a NACK
  w.uint32((field << 3) | 2).fork().uint32(1 << 3).int32(3).uint32((2 << 3) | 2).string(message).ldelim();
}

export function encodeSotwRequest(r: SotwRequest): Uint8Array {
  const w = protobuf.Writer.create();
  if (r.versionInfo) w.uint32((1 << 3) | 2).string(r.versionInfo);
  if (r.nodeId) writeNode(w, 2, r.nodeId);
  for (const n of r.resourceNames) w.uint32((3 << 3) | 2).string(n);
  w.uint32((4 << 3) | 2).string(r.typeUrl);
  if (r.responseNonce) w.uint32((5 << 3) | 2).string(r.responseNonce);
  if (r.errorMessage) writeStatus(w, 6, r.errorMessage);
  return w.finish();
}

export function encodeDeltaRequest(r: DeltaRequest): Uint8Array {
  const w = protobuf.Writer.create();
  if (r.nodeId) writeNode(w, 1, r.nodeId);
  w.uint32((2 << 3) | 2).string(r.typeUrl);
  for (const n of r.subscribe) w.uint32((3 << 3) | 2).string(n);
  for (const n of r.unsubscribe) w.uint32((4 << 3) | 2).string(n);
  if (r.responseNonce) w.uint32((6 << 3) | 2).string(r.responseNonce);
  if (r.errorMessage) writeStatus(w, 7, r.errorMessage);
  return w.finish();
}

export function decodeSotwResponse(buf: Uint8Array): SotwResponse {
  const r = protobuf.Reader.create(buf);
  const out: SotwResponse = { versionInfo: '', resources: [], typeUrl: '', nonce: '' };
  while (r.pos < r.len) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1: out.versionInfo = r.string(); break;
      case 2: out.resources.push(r.bytes()); break;
      case 4: out.typeUrl = r.string(); break;
      case 5: out.nonce = r.string(); break;
      default: r.skipType(tag & 7);
    }
  }
  return out;
}

function decodeDeltaResource(buf: Uint8Array): DeltaResource {
  const r = protobuf.Reader.create(buf);
  const out: DeltaResource = { name: '', version: '', any: new Uint8Array(0) };
  while (r.pos < r.len) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1: out.version = r.string(); break;
      case 2: out.any = r.bytes(); break;
      case 3: out.name = r.string(); break;
      default: r.skipType(tag & 7);
    }
  }
  return out;
}

export function decodeDeltaResponse(buf: Uint8Array): DeltaResponse {
  const r = protobuf.Reader.create(buf);
  const out: DeltaResponse = { systemVersionInfo: '', resources: [], typeUrl: '', removed: [], nonce: '' };
  while (r.pos < r.len) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1: out.systemVersionInfo = r.string(); break;
      case 2: out.resources.push(decodeDeltaResource(r.bytes())); break;
      case 4: out.typeUrl = r.string(); break;
      case 5: out.nonce = r.string(); break;
      case 6: out.removed.push(r.string()); break;
      default: r.skipType(tag & 7);
    }
  }
  return out;
}

/** google.protobuf.Any { type_url = 1; value = 2 } -> its parts, without copying `value`. */
export function splitAny(buf: Uint8Array): { typeUrl: string; value: Uint8Array } {
  const r = protobuf.Reader.create(buf);
  let typeUrl = '';
  let value: Uint8Array = new Uint8Array(0);
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 1) typeUrl = r.string();
    else if (tag >>> 3 === 2) value = r.bytes();
    else r.skipType(tag & 7);
  }
  return { typeUrl, value };
}

/** The first string field (`name` = 1 in Cluster, Listener, RouteConfiguration, Secret; `cluster_name` in CLA). */
export function firstStringField(msg: Uint8Array): string {
  const r = protobuf.Reader.create(msg);
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 1 && (tag & 7) === 2) return r.string();
    r.skipType(tag & 7);
  }
  return '';
}

/** gRPC length-prefixed framing (uncompressed). */
export function grpcFrame(msg: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + msg.length);
  out[0] = 0;
  out.writeUInt32BE(msg.length, 1);
  out.set(msg, 5);
  return out;
}

/** Accumulates DATA chunks and yields complete gRPC messages. */
export class GrpcDeframer {
  #buf: Buffer = Buffer.alloc(0);
  push(chunk: Buffer, onMessage: (msg: Buffer) => void): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    while (this.#buf.length >= 5) {
      const len = this.#buf.readUInt32BE(1);
      if (this.#buf.length < 5 + len) return;
      onMessage(this.#buf.subarray(5, 5 + len));
      this.#buf = this.#buf.subarray(5 + len);
    }
  }
}
