import type { NodeIdentity, XdsResource } from '@trellis/plugin-sdk';
import { redactResource } from './redact.ts';

export interface TypeStatus {
  /** Subscribed names; `*` for a wildcard subscription. */
  subscribed: string[];
  lastSent?: { version: string; nonce: string; at: string };
  lastAcked?: { version: string; at: string };
  lastNack?: { version: string; nonce: string; message: string; at: string };
}

export interface ProxyInfo {
  streamId: string;
  nodeId: string;
  node: NodeIdentity;
  kind: string;
  /** `namespace/serviceAccount`. */
  identity: string;
  protocol: 'sotw' | 'delta';
  transport: 'mtls' | 'plaintext';
  peer: string;
  snapshotKey: string;
  connectedSince: string;
  types: Record<string, TypeStatus>;
}

/** What the registry needs from a live stream. */
export interface RegisteredStream {
  info(): ProxyInfo;
  /** The resources the proxy was last sent (and, as far as the server knows, holds), per type. */
  sentResources(): Map<string, readonly XdsResource[]>;
}

/** Connected proxies, for `/debug/proxies` and `/debug/proxies/<id>`. */
export class ProxyRegistry {
  readonly #streams = new Map<string, RegisteredStream>();

  add(streamId: string, stream: RegisteredStream): void {
    this.#streams.set(streamId, stream);
  }

  remove(streamId: string): void {
    this.#streams.delete(streamId);
  }

  get size(): number {
    return this.#streams.size;
  }

  /** `/debug/proxies`: every connected stream. */
  list(): ProxyInfo[] {
    return [...this.#streams.values()].map((s) => s.info()).sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  }

  /** Streams of one node id (or stream id); the newest last. */
  find(id: string): RegisteredStream[] {
    return [...this.#streams.entries()].filter(([sid, s]) => sid === id || s.info().nodeId === id).map(([, s]) => s);
  }

  /** `/debug/proxies/<id>`: status plus the resources it holds as JSON, key material redacted. */
  describe(id: string): (ProxyInfo & { resources: Record<string, { name: string; version: string; value: unknown }[]> }) | undefined {
    const stream = this.find(id).at(-1);
    if (!stream) return undefined;
    const resources: Record<string, { name: string; version: string; value: unknown }[]> = {};
    for (const [typeUrl, list] of stream.sentResources())
      resources[typeUrl] = list.map((r) => ({ name: r.name, version: r.version, value: redactResource(r.value) }));
    return { ...stream.info(), resources };
  }

  toJSON(): ProxyInfo[] {
    return this.list();
  }
}
