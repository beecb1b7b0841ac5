import { isIPv4, isIPv6 } from 'node:net';

/** A listen address from the config file: `127.0.0.1:9091`, `[::1]:15128`, `localhost:0`. */
export interface HostPort {
  /** Without brackets for IPv6. */
  readonly host: string;
  readonly port: number;
}

const SHAPE = /^(?:\[([^\]]*)\]|([^\s:[\]]+)):(\d+)$/;
const HOSTNAME = /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?)*$/;

export function parseHostPort(text: string): HostPort | undefined {
  const m = SHAPE.exec(text);
  if (!m) return undefined;
  return { host: m[1] ?? m[2] ?? '', port: Number(m[3]) };
}

/**
 * Why a `host:port` cannot be listened on, or undefined when it can: the port is 0-65535 (0 picks a free one),
 * the host is an IPv4 address, a bracketed IPv6 address or a DNS name.
 */
export function listenAddressProblem(text: string): string | undefined {
  const hp = parseHostPort(text);
  if (!hp) return undefined; // the pattern reports the shape
  if (hp.port > 65535) return `port ${hp.port} is out of range (0-65535)`;
  const bracketed = text.startsWith('[');
  if (bracketed) return isIPv6(hp.host) ? undefined : `"${hp.host}" is not an IPv6 address`;
  if (/^[\d.]+$/.test(hp.host)) return isIPv4(hp.host) ? undefined : `"${hp.host}" is not an IPv4 address`;
  return HOSTNAME.test(hp.host) ? undefined : `"${hp.host}" is neither an IP address nor a host name`;
}

export const isWildcard = (host: string): boolean => host === '0.0.0.0' || host === '::';

export const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);

/** Two listeners collide when they use one (non-zero) port on the same host or when either takes every host. */
export function collide(a: HostPort, b: HostPort): boolean {
  return a.port !== 0 && a.port === b.port && (a.host === b.host || isWildcard(a.host) || isWildcard(b.host));
}
