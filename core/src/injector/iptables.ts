/**
 * The traffic-capture rules the init container loads (OSM's, nat table): inbound TCP to Envoy's 15003 except
 * its metrics and probe ports, outbound TCP to 15001 except Envoy's own UID, loopback and the exclusions.
 */

export const PROXY_UID = 1500;
export const OUTBOUND_PORT = 15001;
export const INBOUND_PORT = 15003;
/** Envoy's admin, Prometheus and probe ports: never redirected inbound. */
export const INBOUND_BYPASS_PORTS = [15000, 15010, 15901, 15902, 15903, 15904] as const;

export interface CaptureOptions {
  readonly proxyUid?: number;
  readonly outboundPort?: number;
  readonly inboundPort?: number;
  /** Destination ports outbound traffic to which is not captured. */
  readonly excludeOutboundPorts?: readonly number[];
  /** Destination CIDRs outbound traffic to which is not captured. */
  readonly excludeOutboundIpRanges?: readonly string[];
  /** Local ports inbound traffic to which is not captured. */
  readonly excludeInboundPorts?: readonly number[];
}

const CIDR = /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$|^[0-9a-fA-F:]+\/\d{1,3}$/;

/** Checks what annotations and MeshConfig give: the script must never carry anything but numbers and CIDRs. */
export function captureProblems(o: CaptureOptions): string[] {
  const problems: string[] = [];
  for (const [name, ports] of [
    ['excludeOutboundPorts', o.excludeOutboundPorts],
    ['excludeInboundPorts', o.excludeInboundPorts],
  ] as const)
    for (const p of ports ?? []) if (!Number.isInteger(p) || p < 1 || p > 65535) problems.push(`${name}: ${String(p)} is not a port (1-65535)`);
  for (const r of o.excludeOutboundIpRanges ?? []) if (!CIDR.test(r)) problems.push(`excludeOutboundIpRanges: "${r}" is not a CIDR such as 10.0.0.0/8`);
  return problems;
}

/** `iptables-restore --noflush` input. Throws on an invalid option (see `captureProblems`). */
export function iptablesRules(o: CaptureOptions = {}): string {
  const problems = captureProblems(o);
  if (problems.length) throw new Error(`traffic capture: ${problems.join('; ')}`);
  const uid = o.proxyUid ?? PROXY_UID;
  const multiport = (ports: readonly number[]) => (ports.length === 1 ? `--dport ${ports[0]}` : `-m multiport --dports ${ports.join(',')}`);
  const chunks = <T>(xs: readonly T[], n: number): T[][] => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));
  const lines = [
    '*nat',
    ':PROXY_INBOUND - [0:0]',
    ':PROXY_IN_REDIRECT - [0:0]',
    ':PROXY_OUTBOUND - [0:0]',
    ':PROXY_REDIRECT - [0:0]',
    `-A PROXY_REDIRECT -p tcp -j REDIRECT --to-ports ${o.outboundPort ?? OUTBOUND_PORT}`,
    `-A PROXY_IN_REDIRECT -p tcp -j REDIRECT --to-ports ${o.inboundPort ?? INBOUND_PORT}`,
    // Inbound
    '-A PREROUTING -p tcp -j PROXY_INBOUND',
    ...chunks([...INBOUND_BYPASS_PORTS, ...(o.excludeInboundPorts ?? [])], 15).map((ps) => `-A PROXY_INBOUND -p tcp ${multiport(ps)} -j RETURN`),
    '-A PROXY_INBOUND -p tcp -j PROXY_IN_REDIRECT',
    // Outbound
    '-A OUTPUT -p tcp -j PROXY_OUTBOUND',
    // Envoy talking to the app over a pod IP via lo is inbound traffic.
    `-A PROXY_OUTBOUND -o lo ! -d 127.0.0.1/32 -m owner --uid-owner ${uid} -j PROXY_IN_REDIRECT`,
    `-A PROXY_OUTBOUND -o lo -m owner ! --uid-owner ${uid} -j RETURN`,
    `-A PROXY_OUTBOUND -m owner --uid-owner ${uid} -j RETURN`,
    '-A PROXY_OUTBOUND -d 127.0.0.1/32 -j RETURN',
    ...chunks(o.excludeOutboundPorts ?? [], 15).map((ps) => `-A PROXY_OUTBOUND -p tcp ${multiport(ps)} -j RETURN`),
    ...(o.excludeOutboundIpRanges ?? []).map((r) => `-A PROXY_OUTBOUND -d ${r} -j RETURN`),
    '-A PROXY_OUTBOUND -j PROXY_REDIRECT',
    'COMMIT',
  ];
  return `${lines.join('\n')}\n`;
}

/** The init container's shell script. */
export function initScript(o: CaptureOptions = {}): string {
  return `set -e\niptables-restore --noflush <<'EOF'\n${iptablesRules(o)}EOF\n`;
}
