import { TypeUrls } from '@trellis/plugin-sdk';
import type { XdsResource } from '@trellis/plugin-sdk';
import { aggregateVersion } from '../cache/snapshot.ts';
import type { Snapshot } from '../cache/snapshot.ts';
import { deltaResponse, type DeltaCall, type DeltaDiscoveryRequest__Output } from './codec.ts';
import { AdsStream, pushOrder, wildcardCapable, type StreamEnv, type Transport } from './stream-base.ts';

interface DeltaTypeState {
  names: Set<string>;
  wildcard: boolean;
  /** name -> version the proxy holds (from initial_resource_versions, then from what we sent). */
  held: Map<string, string>;
  /** Resources sent and not removed since, for debug output. */
  sent: Map<string, XdsResource>;
  /** nonce -> system version of responses not yet ACKed/NACKed. */
  inflight: Map<string, string>;
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
        this.log.error('bad delta ADS request', { error: (err as Error).message });
      }
    });
  }

  #onRequest(req: DeltaDiscoveryRequest__Output): void {
    if (this.isClosed) return;
    if (!this.node && !this.establish(req.node)) return;
    const typeUrl = req.type_url ?? '';
    if (!typeUrl) return this.log.warn('delta request without type_url ignored');
    if (typeUrl === TypeUrls.secret && this.transport === 'plaintext') return;
    const subscribe = req.resource_names_subscribe ?? [];
    const unsubscribe = req.resource_names_unsubscribe ?? [];
    let st = this.#types.get(typeUrl);
    if (!st) {
      st = { names: new Set(), wildcard: wildcardCapable(typeUrl) && subscribe.length === 0, held: new Map(), sent: new Map(), inflight: new Map() };
      for (const [name, version] of Object.entries(req.initial_resource_versions ?? {})) st.held.set(name, version);
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
      else st.names.add(n);
    }
    for (const n of unsubscribe) {
      if (n === '*') st.wildcard = false;
      else {
        st.names.delete(n);
        st.held.delete(n);
        st.sent.delete(n);
      }
    }
    this.status(typeUrl).subscribed = st.wildcard ? ['*', ...st.names] : [...st.names];
    if (subscribe.length > 0 || unsubscribe.length > 0 || !nonce) this.requestPush();
  }

  protected push(snapshot: Snapshot): boolean {
    let writable = true;
    for (const typeUrl of pushOrder(this.#types.keys())) {
      const st = this.#types.get(typeUrl)!;
      const wanted = (name: string) => st.wildcard || st.names.has(name);
      const visible = (st.wildcard ? snapshot.resources(typeUrl) : [...st.names].flatMap((n) => snapshot.get(typeUrl, n) ?? [])).filter((r) =>
        this.allowed(typeUrl, r),
      );
      const visibleNames = new Set(visible.map((r) => r.name));
      const changed = visible.filter((r) => st.held.get(r.name) !== r.version);
      const removed = [...st.held.keys()].filter((n) => wanted(n) && !visibleNames.has(n));
      if (changed.length === 0 && removed.length === 0) continue;
      for (const r of changed) {
        st.held.set(r.name, r.version);
        st.sent.set(r.name, r);
      }
      for (const n of removed) {
        st.held.delete(n);
        st.sent.delete(n);
      }
      const nonce = this.nextNonce();
      const version = aggregateVersion([...st.sent.values()].sort((a, b) => (a.name < b.name ? -1 : 1)));
      const bytes = deltaResponse.encode({
        system_version_info: version,
        type_url: typeUrl,
        nonce,
        resources: changed.map((r) => ({ name: r.name, version: r.version, resource: { type_url: typeUrl, value: r.body } })),
        removed_resources: removed,
      });
      // Bounded: a proxy that never ACKs cannot grow this beyond a few entries.
      if (st.inflight.size > 16) st.inflight.delete(st.inflight.keys().next().value!);
      st.inflight.set(nonce, version);
      writable = this.write(typeUrl, bytes, version, nonce) && writable;
    }
    return writable;
  }

  sentResources(): Map<string, readonly XdsResource[]> {
    return new Map([...this.#types].map(([t, st]) => [t, [...st.sent.values()]]));
  }
}
