/**
 * `policy explain` to a destination outside the mesh (`host[:port]`, `ip[:port]`): read off the client's egress
 * rules (the same view field the Envoy generator turns into `egress-*` chains) in the order Envoy's filter chain
 * match picks them on one port: a destination range (`egress-tcp`), then an SNI name (`egress-https`), then the
 * port-only `egress-http` chain (which takes every other connection on its port, so passthrough never applies
 * there), and last the MeshConfig `enableEgress` passthrough default chain.
 */
import { BlockList, isIP } from 'node:net';
import type { EgressRule } from '@trellis/plugin-sdk';
import { requestMatches } from './routes.ts';

/** Input the caller must fix: HTTP 400, CLI exit 2 (explain.ts re-exports it). */
export class ExplainInputError extends Error {
  readonly statusCode = 400;
}

export interface ExternalTarget {
  /** Lower-case host name or IP address. */
  readonly host: string;
  readonly port: number;
  readonly ip: boolean;
}

export interface ExplainEgress {
  readonly host: string;
  readonly port: number;
  /** What admits the connection: an Egress policy, the MeshConfig passthrough, or nothing. */
  readonly by: 'egress' | 'passthrough' | 'none';
  /** `ns/name` of the Egress that admits it (or that refuses the request on its HTTP port). */
  readonly policy?: string;
  readonly protocol?: EgressRule['protocol'];
  /** What of the policy matched: `host X`, `ipRange C`, and on HTTP the route match name. */
  readonly matched?: string;
  readonly match?: string;
}

/**
 * Parses TO as an external destination: anything that is not `ns/name` (nor `pod:`/`sa:`/`svc:` prefixed).
 * `host:port`, `[v6]:port`, a bare IPv6 address, or a host with `--port`. Undefined for a mesh TO.
 */
export function externalTarget(to: string, port: string | number | undefined): ExternalTarget | undefined {
  if (to.includes('/') || /^(pod|sa|svc):/.test(to)) return undefined;
  let host = to;
  let inline: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(to);
  if (v6) [host, inline] = [v6[1] as string, v6[2]];
  else if (isIP(to) !== 6) {
    const i = to.lastIndexOf(':');
    if (i >= 0) [host, inline] = [to.slice(0, i), to.slice(i + 1)];
  }
  host = host.toLowerCase();
  const ip = isIP(host) !== 0;
  if (!ip && !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(host))
    throw new ExplainInputError(`TO "${to}" is neither <namespace>/<name> nor an external host[:port] or IP[:port]`);
  // A single label is most likely a Service short name (which a pod's DNS would resolve into the mesh).
  if (!ip && !host.includes('.')) throw new ExplainInputError(`TO "${to}": a mesh TO is <namespace>/<name>, an external one a dotted host or an IP (host.example:443)`);
  const given = port === undefined ? undefined : String(port);
  if (inline !== undefined && given !== undefined && inline !== given) throw new ExplainInputError(`TO "${to}" names port ${inline} but --port is ${given}`);
  const text = inline ?? given;
  const n = text === undefined ? NaN : Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new ExplainInputError(text === undefined ? `TO: an external destination needs a port (${host}:443 or --port); a mesh TO is <namespace>/<name>` : `TO: port "${text}" of an external destination must be a number 1-65535`);
  return { host, port: n, ip };
}

/** Envoy's host match: exact, or `*.suffix` for any name ending in `.suffix`. */
export const hostMatches = (pattern: string, host: string): boolean => (pattern.startsWith('*.') ? host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1 : pattern === host);

export function inRange(cidr: string, ip: string): boolean {
  const [net, bits] = cidr.split('/');
  const family = isIP(net ?? '');
  if (!net || family === 0 || family !== isIP(ip)) return false;
  const type = family === 6 ? 'ipv6' : 'ipv4';
  const list = new BlockList();
  list.addSubnet(net, bits === undefined ? (family === 6 ? 128 : 32) : Number(bits), type);
  return list.check(ip, type);
}

const matchText = (m: { methods: readonly string[]; pathRegex: string }): string => `${m.methods.includes('*') ? '' : `${m.methods.join(',')} `}${m.pathRegex}`;

/** The egress decision for `target`, pushing the reasons (the first is the verdict's detail). */
export function explainEgress(
  rules: readonly EgressRule[],
  passthrough: boolean,
  target: ExternalTarget,
  req: { path: string; method: string; headers: Record<string, string> },
  reasons: string[],
): ExplainEgress {
  const dest = `${target.host}:${target.port}`;
  const onPort = rules.filter((r) => r.port === target.port);
  const base = { host: target.host, port: target.port };
  if (target.ip) {
    for (const r of onPort.filter((x) => x.protocol === 'tcp'))
      for (const c of r.ipRanges)
        if (inRange(c, target.host)) {
          reasons.push(`Egress ${r.policy} admits ${dest}: ipAddresses ${c}, tcp port ${r.port} (chain egress-tcp.${r.port})`);
          return { ...base, by: 'egress', policy: r.policy, protocol: 'tcp', matched: `ipRange ${c}` };
        }
  } else {
    for (const r of onPort.filter((x) => x.protocol !== 'http'))
      for (const h of r.hosts)
        if (hostMatches(h, target.host)) {
          reasons.push(`Egress ${r.policy} admits ${dest}: host ${h} by TLS SNI, ${r.protocol} port ${r.port} (chain egress-https.${r.port})`);
          return { ...base, by: 'egress', policy: r.policy, protocol: r.protocol, matched: `host ${h}` };
        }
    if (onPort.some((r) => r.protocol === 'tcp' && r.ipRanges.length)) reasons.push(`explain does not resolve DNS: name the IP (TO ip:${target.port}) to check the ipAddresses of the tcp Egress rules on port ${target.port}`);
  }
  const http = onPort.filter((r) => r.protocol === 'http');
  if (http.length) {
    // The Host header decides (its `:port` suffix is a domain too); default the TO host.
    const hostHeader = (req.headers.host ?? req.headers[':authority'] ?? target.host).toLowerCase().replace(/:\d+$/, '');
    const byHost = http.flatMap((r) => r.hosts.filter((h) => hostMatches(h, hostHeader)).map((h) => ({ r, h })));
    for (const { r, h } of byHost) {
      const m = r.matches.length ? r.matches.find((x) => requestMatches(x, req)) : undefined;
      if (r.matches.length === 0 || m) {
        reasons.push(`Egress ${r.policy} admits ${dest}: host ${h}, http port ${r.port}${m ? `, HTTPRouteGroup match "${m.name}" (${matchText(m)})` : ', every request'}`);
        return { ...base, by: 'egress', policy: r.policy, protocol: 'http', matched: `host ${h}`, ...(m && { match: m.name }) };
      }
    }
    const first = byHost[0];
    if (first) {
      reasons.push(`Egress ${byHost.map((x) => x.r.policy).join(', ')} admit(s) host ${first.h} on http port ${target.port} only for ${byHost.flatMap((x) => x.r.matches.map(matchText)).join(' | ')}, not ${req.method} ${req.path} (Envoy answers 404)`);
      return { ...base, by: 'none', policy: first.r.policy, protocol: 'http', matched: `host ${first.h}` };
    }
    reasons.push(
      `no Egress admits Host ${hostHeader} on http port ${target.port} (hosts: ${[...new Set(http.flatMap((r) => r.hosts))].join(', ') || 'none'}): chain egress-http.${target.port} takes every connection to port ${target.port}, so egress passthrough does not apply (Envoy answers 404)`,
    );
    return { ...base, by: 'none', protocol: 'http' };
  }
  const listed = [...new Set(rules.map((r) => r.policy))].sort();
  const none = listed.length ? `no Egress of this identity (${listed.join(', ')}) admits ${dest}` : `no Egress has this identity as a source`;
  if (passthrough) {
    reasons.push(`${none}; MeshConfig spec.traffic.enableEgress is on: passthrough to the original destination`);
    return { ...base, by: 'passthrough' };
  }
  reasons.push(`${none}, and egress passthrough is off (MeshConfig spec.traffic.enableEgress)`);
  return { ...base, by: 'none' };
}
