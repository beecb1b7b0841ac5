import protobuf from 'protobufjs';
import { TypeUrls } from '@trellis/plugin-sdk';
import type { XdsResource } from '@trellis/plugin-sdk';
import type { Snapshot } from '../cache/snapshot.ts';
import { ownBytes } from '../resources/factory.ts';
import { messageType } from '../resources/protos.ts';
import { type DeltaCall, type DeltaDiscoveryRequest__Output } from './codec.ts';
import { AdsStream, pushOrder, wildcardCapable, type StreamEnv, type Transport } from './stream-base.ts';
import { namedResource } from './stand-ins.ts';

/** Each resource's `Resource` entry (name, version, Any) is encoded once and shared by every delta stream. */
const entries = new WeakMap<XdsResource, Uint8Array>();
let resourceType: protobuf.Type | undefined;

function entryOf(r: XdsResource): Uint8Array {
  let e = entries.get(r);
  if (!e) {
    resourceType ??= messageType('envoy.service.discovery.v3.Resource');
    e = ownBytes(resourceType.encode({ name: r.name, version: r.version, resource: { type_url: r.typeUrl, value: r.body } }).finish());
    entries.set(r, e);
  }
  return e;
}

/** DeltaDiscoveryResponse from pre-encoded entries: fields 1 version, 2 resources, 4 type_url, 5 nonce, 6 removed. */
export function encodeDeltaResponse(version: string, typeUrl: string, nonce: string, changed: readonly XdsResource[], removed: readonly string[]): Uint8Array {
  const w = protobuf.Writer.create();
  w.uint32((1 << 3) | 2).string(version);
  for (const r of changed) w.uint32((2 << 3) | 2).bytes(entryOf(r));
  w.uint32((4 << 3) | 2).string(typeUrl);
  w.uint32((5 << 3) | 2).string(nonce);
  for (const n of removed) w.uint32((6 << 3) | 2).string(n);
  return w.finish();
}

interface DeltaTypeState {
  names: Set<string>;
  wildcard: boolean;
  /** name -> version the proxy holds (from initial_resource_versions, then from what we sent). */
  held: Map<string, string>;
  /** Resources sent and not removed since, for debug output. */
  sent: Map<string, XdsResource>;
  /** nonce -> system version of responses not yet ACKed/NACKed. */
  inflight: Map<string, string>;
  /** Subscribed names already answered in `removed_resources` because they do not exist (told once). */
  absent: Set<string>;
}

/** A delta ADS stream (`DeltaAggregatedResources`): per-resource versions, subscribe/unsubscribe, removals. */
export class DeltaStream extends AdsStream {
  readonly #types = new Map<string, DeltaTypeState>();

  constructor(env: StreamEnv, call: DeltaCall, transport: Transport) {
    super(env, call, transport, 'delta');
    call.on('data', (req: DeltaDiscoveryRequest__Output) => {
      try {
        this.#onRequest(req);
      } catch (err) {
        this.env.logLimit.warn('bad request', this.log, 'bad delta ADS request', { error: (err as Error).message });
      }
    });
  }

  #onRequest(req: DeltaDiscoveryRequest__Output): void {
    if (this.isClosed) return;
    if (!this.node && !this.establish(req.node)) return;
    const typeUrl = req.type_url ?? '';
    if (!typeUrl) return this.env.logLimit.warn('bad request', this.log, 'delta request without type_url ignored');
    if (typeUrl === TypeUrls.secret && this.transport === 'plaintext') return;
    const subscribe = req.resource_names_subscribe ?? [];
    const unsubscribe = req.resource_names_unsubscribe ?? [];
    let st = this.#types.get(typeUrl);
    const created = !st;
    if (!st) {
      if (this.exceeds('types', this.#types.size + 1)) return;
      const initial = Object.entries(req.initial_resource_versions ?? {});
      st = { names: new Set(), wildcard: wildcardCapable(typeUrl) && subscribe.length === 0, held: new Map(), sent: new Map(), inflight: new Map(), absent: new Set() };
      for (const [name, version] of initial) st.held.set(name, version);
      this.#types.set(typeUrl, st);
    }
    const nonce = req.response_nonce ?? '';
    if (nonce) {
      const version = st.inflight.get(nonce);
      if (version !== undefined) {
        st.inflight.delete(nonce);
        if (req.error_detail) this.recordNack(typeUrl, version, nonce, req.error_detail);
        else this.recordAck(typeUrl, version);
      }
    }
    for (const n of subscribe) {
      if (n === '*') st.wildcard = true;
      else {
        st.names.add(n);
        st.absent.delete(n); // a (re)subscription is answered again, even if the answer is "does not exist"
      }
    }
    for (const n of unsubscribe) {
      if (n === '*') st.wildcard = false;
      else {
        st.names.delete(n);
        st.held.delete(n);
        st.sent.delete(n);
        st.absent.delete(n);
      }
    }
    // Checked after applying: one request is bounded by the gRPC message size; the total is bounded here.
    if (this.exceeds('subscriptions', this.#subscriptions())) return;
    this.status(typeUrl).subscribed = st.wildcard ? ['*', ...st.names] : [...st.names];
    // A type's first request is always answered, even when it (oddly) quotes a nonce.
    if (created || subscribe.length > 0 || unsubscribe.length > 0 || !nonce) this.requestPush();
  }

  protected push(snapshot: Snapshot): void {
    for (const typeUrl of pushOrder(this.#types.keys())) {
      if (!this.canWrite()) return this.deferPush();
      const st = this.#types.get(typeUrl)!;
      const wanted = (name: string) => st.wildcard || st.names.has(name);
      const visible = (st.wildcard ? snapshot.resources(typeUrl) : [...st.names].flatMap((n) => namedResource(snapshot, typeUrl, n, this.node, this.env.standIns) ?? [])).filter((r) =>
        this.allowed(typeUrl, r),
      );
      const visibleNames = new Set(visible.map((r) => r.name));
      const changed = visible.filter((r) => st.held.get(r.name) !== r.version);
      const removed = [...st.held.keys()].filter((n) => wanted(n) && !visibleNames.has(n));
      // A name subscribed explicitly that does not exist (or is not for this node) is answered as removed, so
      // the client knows at once instead of waiting for its does-not-exist timer.
      const absent = [...st.names].filter((n) => !visibleNames.has(n) && !st.held.has(n) && !st.absent.has(n));
      removed.push(...absent);
      if (changed.length === 0 && removed.length === 0) continue;
      for (const r of changed) {
        st.held.set(r.name, r.version);
        st.sent.set(r.name, r);
        st.absent.delete(r.name);
      }
      for (const n of removed) {
        st.held.delete(n);
        st.sent.delete(n);
        if (st.names.has(n)) st.absent.add(n);
      }
      const nonce = this.nextNonce();
      // `system_version_info`: the type's version, computed once per interned list (shared across identities).
      const version = snapshot.version(typeUrl);
      const bytes = encodeDeltaResponse(version, typeUrl, nonce, changed, removed);
      // Bounded: a proxy that never ACKs cannot grow this beyond a few entries.
      if (st.inflight.size > 16) st.inflight.delete(st.inflight.keys().next().value!);
      st.inflight.set(nonce, version);
      this.write(typeUrl, bytes, version, nonce);
    }
  }

  /** Names subscribed over all types, plus the initial versions a client claimed (bounded by `maxSubscriptions`). */
  #subscriptions(): number {
    let n = 0;
    // A wildcard type's `held` converges to what the server has; otherwise it may hold names the client claimed.
    for (const st of this.#types.values()) n += st.wildcard ? st.names.size : Math.max(st.names.size, st.held.size);
    return n;
  }

  sentResources(): Map<string, readonly XdsResource[]> {
    return new Map([...this.#types].map(([t, st]) => [t, [...st.sent.values()]]));
  }
}
