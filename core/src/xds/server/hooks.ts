import type { NodeIdentity } from '@trellis/plugin-sdk';

/** Per-event callbacks (the benchmark's timestamps). Times are epoch milliseconds with sub-ms precision. */
export interface XdsHooks {
  onStreamOpen?: (node: NodeIdentity) => void;
  onStreamClose?: (node: NodeIdentity) => void;
  onPush?: (e: { node: NodeIdentity; typeUrl: string; version: string; nonce: string; generatedAt?: number; sentAt: number }) => void;
  /** A push to one stream ended: the snapshot it came from and how many responses it wrote (0: nothing new). */
  onPushDone?: (e: { node: NodeIdentity; generatedAt?: number; responses: number }) => void;
  onAck?: (e: { node: NodeIdentity; typeUrl: string; version: string; at: number }) => void;
  onNack?: (e: { node: NodeIdentity; typeUrl: string; version: string; message: string; at: number }) => void;
}
