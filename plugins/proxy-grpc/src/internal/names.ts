/** Resource names the gRPC backend uses; the bootstrap and the generator must agree on them. */
import type { MeshServicePort } from '@trellis/plugin-sdk';

/**
 * `server_listener_resource_name_template` written into every bootstrap: an xDS-enabled gRPC server asks for
 * the Listener named by this template with `%s` replaced by the `ip:port` it binds.
 */
export const SERVER_LISTENER_TEMPLATE = 'trellis/grpc-server?listening_address=%s';

/** The certificate-provider instance (bootstrap `certificate_providers` key) holding identity and CA. */
export const CERT_PROVIDER_INSTANCE = 'default';

/** `ip:port` as gRPC formats a bound address (IPv6 in brackets). */
export function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** The server-side Listener name for a bound address, as grpc-js-xds derives it from the template. */
export function serverListenerName(ip: string, port: number): string {
  return SERVER_LISTENER_TEMPLATE.replace('%s', hostPort(ip, port));
}

/** The client RouteConfiguration of one outbound service port (shared by all its hostname listeners). */
export function outboundRouteName(svc: MeshServicePort): string {
  return `grpc-outbound|${svc.namespace}/${svc.name}|${svc.port}`;
}
