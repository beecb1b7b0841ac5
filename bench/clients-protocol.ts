/** Messages between the bench driver (bench/main.ts) and the simulated-proxy process (bench/clients.ts). */
import type { AckEvent } from './sim-proxy.ts';

export interface ProxySpec {
  uuid: string;
  namespace: string;
  serviceAccount: string;
}

export type ClientCommand =
  | { op: 'add'; id: number; caStateDir: string; trustDomain: string; proxies: ProxySpec[] }
  /** `startedAt` (wall ms): the storm's start as the driver saw it, so several client processes share one origin. */
  | { op: 'connect'; id: number; address: string; delta: boolean; timeoutMs: number; from: number; to: number; startedAt?: number }
  | { op: 'mark'; id: number }
  /** Waits until every proxy in `expect` saw a changed response (or `timeoutMs`), then `quietMs` without responses. */
  | { op: 'collect'; id: number; expect: number[]; quietMs: number; timeoutMs: number }
  | { op: 'stats'; id: number }
  | { op: 'subscriptions'; id: number; typeUrl: string }
  | { op: 'close'; id: number }
  | { op: 'exit'; id: number };

export interface ConnectResult {
  /** Milliseconds from the start of the storm until each proxy was fully configured (NaN: never). */
  readyMs: number[];
  allReadyMs: number;
  notReady: number;
  /** Failures other than admission refusals (TLS, dropped connections, other gRPC statuses). */
  errors: number;
  sampleErrors: string[];
  /**
   * Of `errors`: connections reset, refused or timed out before a response (ECONNRESET, ECONNREFUSED,
   * ETIMEDOUT, EPIPE): what a full listen backlog does to a storm. Each was retried with backoff.
   */
  resets: number;
  /** Streams refused with RESOURCE_EXHAUSTED (the server's connection rate limit / max streams), then retried. */
  refusedAndRetried: number;
  /** Proxies that were configured and are not any more (their connection was dropped meanwhile). */
  lostAfterReady: number;
  /** The longest the client process's event loop was blocked during the storm (it cannot answer PINGs then). */
  maxLoopBlockMs: number;
}

export interface ClientStats {
  pid: number;
  rssBytes: number;
  cpuSeconds: number;
  bytesReceived: number;
  responses: number;
  ready: number;
  proxies: number;
  errors: number;
  referenceDecodes: number;
  maxLoopBlockMs: number;
}

export interface CollectResult {
  markedAt: number;
  /** Per proxy index that saw anything: its ACK events. */
  events: { i: number; events: AckEvent[] }[];
  /** Proxies in `expect` that never saw a changed response. */
  missing: number[];
  bytesReceived: number;
}

export type ClientReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: string };
