/** Per-type sync state of a connected proxy, as `proxy-status` and `check` report it (istioctl's words). */
import { TypeUrls } from '@trellis/plugin-sdk';
import type { ProxyInfo, TypeStatus } from '../xds/index.ts';

export type SyncState = 'SYNCED' | 'STALE' | 'NACK' | 'NOT SENT';

export const TYPE_SHORT: readonly (readonly [string, string])[] = [
  ['CDS', TypeUrls.cluster],
  ['LDS', TypeUrls.listener],
  ['EDS', TypeUrls.endpoint],
  ['RDS', TypeUrls.route],
  ['SDS', TypeUrls.secret],
];

/** NACK when the newest answer to the newest push is a NACK; STALE when sent and not yet ACKed. */
export function syncState(st: TypeStatus | undefined): SyncState {
  if (!st?.lastSent) return st?.lastNack ? 'NACK' : 'NOT SENT';
  if (st.lastNack && (!st.lastAcked || st.lastNack.at >= st.lastAcked.at)) return 'NACK';
  return st.lastAcked?.version === st.lastSent.version ? 'SYNCED' : 'STALE';
}

export interface ProxyStatusRow {
  readonly nodeId: string;
  readonly kind: string;
  readonly identity: string;
  readonly protocol: string;
  readonly transport: string;
  readonly connectedSince: string;
  /** Short type (CDS...) -> state, for the types the proxy subscribed to or was sent. */
  readonly types: Readonly<Record<string, { state: SyncState; version?: string; ackedVersion?: string }>>;
  readonly lastNack?: { type: string; message: string; at: string };
}

export function proxyStatus(p: ProxyInfo): ProxyStatusRow {
  const types: Record<string, { state: SyncState; version?: string; ackedVersion?: string }> = {};
  let lastNack: ProxyStatusRow['lastNack'];
  for (const [typeUrl, st] of Object.entries(p.types)) {
    const short = TYPE_SHORT.find(([, u]) => u === typeUrl)?.[0] ?? typeUrl.replace(/^.*\./, '');
    types[short] = { state: syncState(st), ...(st.lastSent && { version: st.lastSent.version }), ...(st.lastAcked && { ackedVersion: st.lastAcked.version }) };
    if (st.lastNack && (!lastNack || st.lastNack.at > lastNack.at)) lastNack = { type: short, message: st.lastNack.message, at: st.lastNack.at };
  }
  return {
    nodeId: p.nodeId,
    kind: p.kind,
    identity: p.identity,
    protocol: p.protocol,
    transport: p.transport,
    connectedSince: p.connectedSince,
    types,
    ...(lastNack && { lastNack }),
  };
}

export const inSync = (r: ProxyStatusRow): boolean => Object.values(r.types).every((t) => t.state === 'SYNCED' || t.state === 'NOT SENT');
export const hasNack = (r: ProxyStatusRow): boolean => Object.values(r.types).some((t) => t.state === 'NACK');
