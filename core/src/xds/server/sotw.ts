import { createHash } from 'node:crypto';
import { TypeUrls, identityKey } from '@trellis/plugin-sdk';
import type { XdsResource } from '@trellis/plugin-sdk';
import { aggregateVersion, type InternedList } from '../cache/intern.ts';
import type { Snapshot } from '../cache/snapshot.ts';
import type { DiscoveryRequest__Output, SotwCall } from './codec.ts';
import { encodeSotwResponse } from './response-bytes.ts';
import { AdsStream, pushOrder, wildcardCapable, type StreamEnv, type Transport } from './stream-base.ts';
import { namedResource } from './stand-ins.ts';

interface SotwTypeState {
  names: Set<string>;
  wildcard: boolean;
  /** Version/nonce of our last response; requests quoting another nonce are stale. */
  sentVersion: string;
  sentNonce: string;
  sent: readonly XdsResource[];
  /** The name set changed: answer even if the version did not. */
  force: boolean;
  /** The version a (re)connecting client says it holds, before we sent anything. */
  clientVersion: string;
  /** Nonce of the last response the client ACKed. */
  ackedNonce: string;
  /** Clusters kept in the last CDS response only because routes still pointing at them were not yet ACKed. */
  deferredRemoval: boolean;
  /** The subscription as a sharing key (sorted names), computed when the subscription changes, not per push. */
  subscriptionKey: string;
}

/**
 * Responses shared by every stream whose snapshot holds the same (interned) list of a type and that has the
 * same subscription, whatever its identity: the selection and its version are computed once. No response body
 * is kept: a write assembles its bytes from the resources' pre-encoded entries (`encodeSotwResponse`), so a
 * snapshot costs references, not a copy of every resource per identity.
 */
interface SharedResponse {
  resources: readonly XdsResource[];
  version: string;
}
const shared = new WeakMap<InternedList, Map<string, SharedResponse>>();
/** Whether any resource of a list names an audience (then what a stream may see depends on its identity). */
const audienced = new WeakMap<InternedList, boolean>();

/** CDS removals wait until the routes that stop using those clusters are ACKed (make before break). */
const REFERRERS = [TypeUrls.listener, TypeUrls.route];

/** A state-of-the-world ADS stream (`StreamAggregatedResources`). */
export class SotwStream extends AdsStream {
  readonly #types = new Map<string, SotwTypeState>();
  /** Names subscribed over all types (bounded by `maxSubscriptions`). */
  #subscriptions = 0;

  constructor(env: StreamEnv, call: SotwCall, transport: Transport) {
    super(env, call, transport, 'sotw');
    call.on('data', (req: DiscoveryRequest__Output) => {
      try {
        this.#onRequest(req);
      } catch (err) {
        this.env.logLimit.warn('bad request', this.log, 'bad ADS request', { error: (err as Error).message });
      }
    });
  }

  #onRequest(req: DiscoveryRequest__Output): void {
    if (this.isClosed) return;
    if (!this.node && !this.establish(req.node)) return;
    const typeUrl = req.type_url ?? '';
    if (!typeUrl) return this.env.logLimit.warn('bad request', this.log, 'request without type_url ignored');
    // Secrets never leave over plaintext: the subscription is not even recorded.
    if (typeUrl === TypeUrls.secret && this.transport === 'plaintext') return;
    const nonce = req.response_nonce ?? '';
    let st = this.#types.get(typeUrl);
    const names = new Set(req.resource_names ?? []);
    if (this.exceeds('subscriptions', this.#subscriptions - (st?.names.size ?? 0) + names.size)) return;
    if (!st) {
      if (this.exceeds('types', this.#types.size + 1)) return;
      st = { names: new Set(), wildcard: false, sentVersion: '', sentNonce: '', sent: [], force: true, clientVersion: req.version_info ?? '', ackedNonce: '', deferredRemoval: false, subscriptionKey: '' };
      this.#types.set(typeUrl, st);
    } else if (nonce !== st.sentNonce) {
      return; // stale: answers a response that has been superseded
    }
    if (nonce) {
      if (req.error_detail) this.recordNack(typeUrl, req.version_info ?? '', nonce, req.error_detail);
      else {
        st.ackedNonce = nonce;
        this.recordAck(typeUrl, req.version_info ?? '');
        const cds = this.#types.get(TypeUrls.cluster);
        if (cds?.deferredRemoval && (REFERRERS as readonly string[]).includes(typeUrl)) {
          cds.force = true;
          this.requestPush();
        }
      }
    }
    const first = this.status(typeUrl).subscribed.length === 0 && st.names.size === 0 && !st.wildcard;
    const wildcard = wildcardCapable(typeUrl) && (names.has('*') || (names.size === 0 && (first || st.wildcard)));
    names.delete('*');
    if (wildcard !== st.wildcard || names.size !== st.names.size || [...names].some((n) => !st.names.has(n))) {
      this.#subscriptions += names.size - st.names.size;
      st.names = names;
      st.wildcard = wildcard;
      // A digest, not the joined names: a stream subscribed to thousands of names would keep their copy.
      st.subscriptionKey = wildcard ? '*' : createHash('sha256').update([...names].sort().join('\n')).digest('base64url');
      st.force = true;
      this.status(typeUrl).subscribed = wildcard ? ['*', ...names] : [...names];
    }
    if (st.force) this.requestPush();
  }

  protected push(snapshot: Snapshot): void {
    for (const typeUrl of pushOrder(this.#types.keys())) {
      if (!this.canWrite()) return this.deferPush();
      const st = this.#types.get(typeUrl)!;
      let response = this.#shared(snapshot, typeUrl, st);
      st.deferredRemoval = false;
      if (typeUrl === TypeUrls.cluster && this.#referrersUnsettled(snapshot)) {
        const kept = new Set(response.resources.map((r) => r.name));
        const removed = st.sent.filter((r) => !kept.has(r.name) && (st.wildcard || st.names.has(r.name)));
        if (removed.length > 0) {
          const resources = [...response.resources, ...removed].sort((a, b) => (a.name < b.name ? -1 : 1));
          response = { resources, version: aggregateVersion(resources) };
          st.deferredRemoval = true;
        }
      }
      const { resources, version } = response;
      if (!st.force && version === st.sentVersion) continue;
      st.force = false;
      if (!st.sentNonce && st.clientVersion === version) {
        // Reconnect: the proxy already holds exactly this; nothing to send.
        st.sentVersion = version;
        st.sent = resources;
        continue;
      }
      const nonce = this.nextNonce();
      const bytes = encodeSotwResponse(version, typeUrl, resources, nonce);
      st.sentVersion = version;
      st.sentNonce = nonce;
      st.sent = resources;
      this.write(typeUrl, bytes, version, nonce);
    }
  }

  #shared(snapshot: Snapshot, typeUrl: string, st: SotwTypeState): SharedResponse {
    const list = snapshot.list(typeUrl);
    let bySubscription = shared.get(list);
    if (!bySubscription) shared.set(list, (bySubscription = new Map()));
    let viewer = '';
    // What `allowed` lets through depends on the stream's transport (secrets) and identity (audiences) only.
    if (typeUrl === TypeUrls.secret || hasAudience(list)) viewer = `${this.transport}|${this.node ? identityKey(this.node) : ''}`;
    const key = `${typeUrl}\n${viewer}\n${st.subscriptionKey}`;
    let entry = bySubscription.get(key);
    if (!entry) {
      const resources = this.#select(snapshot, typeUrl, st);
      const version = st.wildcard && resources.length === list.resources.length ? list.version : aggregateVersion(resources);
      bySubscription.set(key, (entry = { resources, version }));
    }
    return entry;
  }

  #select(snapshot: Snapshot, typeUrl: string, st: SotwTypeState): readonly XdsResource[] {
    const all = st.wildcard
      ? snapshot.resources(typeUrl)
      : [...st.names].flatMap((n) => namedResource(snapshot, typeUrl, n, this.node, this.env.standIns) ?? []).sort((a, b) => (a.name < b.name ? -1 : 1));
    return all.filter((r) => this.allowed(typeUrl, r));
  }

  /** Whether a listener or route update is about to go out or has not been ACKed yet. */
  #referrersUnsettled(snapshot: Snapshot): boolean {
    return REFERRERS.some((t) => {
      const st = this.#types.get(t);
      if (!st) return false;
      return st.ackedNonce !== st.sentNonce || this.#shared(snapshot, t, st).version !== st.sentVersion;
    });
  }

  sentResources(): Map<string, readonly XdsResource[]> {
    return new Map([...this.#types].map(([t, st]) => [t, st.sent]));
  }
}

function hasAudience(list: InternedList): boolean {
  let v = audienced.get(list);
  if (v === undefined) audienced.set(list, (v = list.resources.some((r) => r.audience !== undefined)));
  return v;
}
