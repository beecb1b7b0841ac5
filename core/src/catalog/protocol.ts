import type { Protocol } from '@trellis/plugin-sdk';
import type { ServicePortSpec } from '../store/index.ts';

const APP_PROTOCOLS: Readonly<Record<string, Protocol>> = {
  http: 'http',
  http2: 'http2',
  'kubernetes.io/h2c': 'http2',
  h2c: 'http2',
  grpc: 'grpc',
  tcp: 'tcp',
  'tcp-server-first': 'tcp-server-first',
  udp: 'udp',
};

/**
 * A Service port's protocol, OSM's way: `appProtocol`, else the port name's prefix (`http-`, `tcp-`, `grpc-`,
 * `tcp-server-first-`), else http. A UDP port is udp whatever its name.
 */
export function protocolOf(p: ServicePortSpec): Protocol {
  if (p.protocol === 'UDP') return 'udp';
  const app = p.appProtocol ? APP_PROTOCOLS[p.appProtocol.toLowerCase()] : undefined;
  if (app) return app;
  const name = p.name?.toLowerCase() ?? '';
  if (name.startsWith('tcp-server-first-') || name === 'tcp-server-first') return 'tcp-server-first';
  for (const prefix of ['http2', 'grpc', 'tcp', 'udp', 'http'] as const)
    if (name === prefix || name.startsWith(`${prefix}-`)) return prefix;
  return 'http';
}

/** Protocols whose inbound traffic goes through HTTP routes. */
export function isHttpLike(p: Protocol): boolean {
  return p === 'http' || p === 'http2' || p === 'grpc';
}
