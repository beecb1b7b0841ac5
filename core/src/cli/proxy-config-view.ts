/** Table summaries of a proxy's xDS resources for `proxy-config <kind> PROXY` (full resources with -o json|yaml). */
import { TypeUrls } from '@trellis/plugin-sdk';
import type { ProxyInfo } from '../xds/index.ts';
import { CliFailure, adminGet, table } from './output.ts';

export const KIND_TYPES = {
  listeners: TypeUrls.listener,
  routes: TypeUrls.route,
  clusters: TypeUrls.cluster,
  endpoints: TypeUrls.endpoint,
  secrets: TypeUrls.secret,
} as const;
export type ResourceKind = keyof typeof KIND_TYPES;

export interface DescribedProxy extends ProxyInfo {
  resources: Record<string, { name: string; version: string; value: unknown }[]>;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : v === undefined ? '' : JSON.stringify(v));

/** A connected proxy by node id, stream id, or a unique part of its node id (a pod UUID, an identity). */
export async function findProxy(base: string, text: string): Promise<DescribedProxy> {
  const list = await adminGet<ProxyInfo[]>(base, '/debug/proxies');
  const exact = list.find((p) => p.nodeId === text || p.streamId === text);
  const matches = exact ? [exact] : list.filter((p) => p.nodeId.includes(text));
  const only = matches.length === 1 ? matches[0] : undefined;
  if (!only)
    throw new CliFailure(
      matches.length === 0
        ? `no connected proxy matches "${text}" (${list.length} connected; see trellis proxy-status)`
        : `"${text}" matches ${matches.length} proxies (${matches.map((p) => p.nodeId).join(', ')}); give more of the node id`,
    );
  return adminGet<DescribedProxy>(base, `/debug/proxies/${encodeURIComponent(only.streamId)}`);
}

function address(v: unknown): string {
  const sa = obj(obj(v).socket_address);
  return sa.address !== undefined ? `${str(sa.address)}:${str(sa.port_value)}` : '';
}

const SUMMARY: Record<ResourceKind, { headers: string[]; row(name: string, v: Obj): string[] }> = {
  listeners: {
    headers: ['name', 'address', 'filter chains'],
    row: (name, v) => [name, address(v.address), String(arr(v.filter_chains).length + (v.default_filter_chain ? 1 : 0))],
  },
  routes: {
    headers: ['name', 'virtual hosts', 'routes'],
    row: (name, v) => [name, String(arr(v.virtual_hosts).length), String(arr(v.virtual_hosts).reduce<number>((n, h) => n + arr(obj(h).routes).length, 0))],
  },
  clusters: {
    headers: ['name', 'type', 'tls'],
    row: (name, v) => [name, str(v.type ?? 'EDS'), v.transport_socket ? 'yes' : 'no'],
  },
  endpoints: {
    headers: ['cluster', 'endpoints'],
    row: (name, v) => [
      name,
      arr(v.endpoints)
        .flatMap((e) => arr(obj(e).lb_endpoints).map((l) => address(obj(obj(l).endpoint).address)))
        .join(', ') || '(none)',
    ],
  },
  secrets: {
    headers: ['name', 'kind'],
    row: (name, v) => [name, v.tls_certificate ? 'certificate (key redacted)' : v.validation_context ? 'trust bundle' : 'other'],
  },
};

export function summaryTable(kind: ResourceKind, resources: readonly { name: string; value: unknown }[]): string {
  const s = SUMMARY[kind];
  return resources.length === 0 ? `no ${kind}\n` : table(s.headers, resources.map((r) => s.row(r.name, obj(r.value))));
}
