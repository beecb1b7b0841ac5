import type { ExplainResult } from '../../catalog/index.ts';
import { UsageError, type Command } from '../args.ts';
import { ADMIN_HELP, OUTPUT_HELP, adminGet, adminOptions, adminUrl, outputFormat, outputOptions, render } from '../output.ts';

function explainText(r: ExplainResult): string {
  const lines = [`${r.allowed ? 'ALLOWED' : 'DENIED'}  ${r.from.identity} -> ${r.to.service}:${r.to.port} (${r.to.protocol})  ${r.request.method} ${r.request.path}`];
  if (r.from.resolvedFrom !== `ServiceAccount ${r.from.identity}`) lines.push(`  from: ${r.from.resolvedFrom}`);
  if (r.to.resolvedFrom !== `Service ${r.to.service}`) lines.push(`  to: ${r.to.resolvedFrom}`);
  lines.push(`  permissive: ${r.permissive ? 'yes' : 'no'}`);
  const e = r.egress;
  if (e) lines.push(`  egress: ${e.by === 'passthrough' ? 'MeshConfig passthrough' : e.policy ? `Egress ${e.policy} (${[e.protocol, e.matched, e.match && `match "${e.match}"`].filter(Boolean).join(', ')})${e.by === 'none' ? ' refuses this request' : ''}` : 'no Egress admits it'}`);
  for (const i of r.ingress?.identities ?? []) lines.push(`  ingress to ${i.identity}: ${i.allowed ? 'allowed' : 'denied'} (${i.policy ? `IngressBackend ${i.policy}` : 'no IngressBackend'})`);
  if (r.split) lines.push(`  split ${r.split.name}: ${r.split.backends.map((b) => `${b.service} weight ${b.weight}`).join(', ')}`);
  for (const b of r.backends) {
    lines.push(`  backend ${b.service}${b.weight !== undefined ? ` (weight ${b.weight})` : ''}: ${b.allowed ? 'allowed' : 'denied'}`);
    for (const i of b.identities) {
      const by = i.route ? `route "${i.route.match.name}"` : i.tcpPolicy ? `network policy ${i.tcpPolicy}` : 'nothing admits it';
      lines.push(`    ${i.identity}: ${i.allowed ? 'allowed' : 'denied'} (${by})`);
    }
  }
  lines.push('Why:');
  // The first reason repeats the verdict; a denial's says where it stops (no route, or refused by a backend).
  for (const reason of r.allowed ? r.reasons.slice(1) : r.reasons) lines.push(`  - ${reason}`);
  return `${lines.join('\n')}\n`;
}

export const policyExplainCommand: Command = {
  name: 'policy explain',
  summary: 'Explain whether FROM may call TO (and why), from the policy the running controller enforces.',
  usage: 'trellis policy explain FROM TO [--port P] [--path /x] [--method M] [--header k=v]... [--admin URL | --config FILE] [-o table|json|yaml]',
  options: {
    port: { type: 'string', short: 'p' },
    path: { type: 'string' },
    method: { type: 'string', short: 'X' },
    header: { type: 'string', short: 'H', multiple: true },
    ...adminOptions,
    ...outputOptions,
  },
  optionHelp: {
    port: 'the Service port (number or name); default its only port',
    path: 'request path (default /); a gRPC method is /package.Service/Method',
    method: 'HTTP method (default POST on gRPC ports, else GET)',
    header: 'a request header name=value (repeatable)',
    ...ADMIN_HELP,
    ...OUTPUT_HELP,
  },
  examples: [
    'trellis policy explain bookstore/bookbuyer bookstore/bookstore --path /books-bought',
    'trellis policy explain pod:shop/cart-5d8f shop/checkout --path /shop.Echo/Say',
    'trellis policy explain shop/fraud svc:shop/payments --port 8080 -H x-user=bob -o json',
    'trellis policy explain curl/curl httpbin.org:80 --path /get',
    'trellis policy explain ip:10.1.2.3 shop/web',
  ],
  async run(values, positionals, io) {
    const [from, to, ...extra] = positionals;
    if (!from || !to || extra.length) throw new UsageError('policy explain needs FROM and TO (ns/serviceaccount, ns/service, pod:ns/pod; TO may be an external host:port / ip:port, FROM an ingress ip:, principal: or service: source)');
    const format = outputFormat(values, io);
    const q = new URLSearchParams({ from, to });
    for (const k of ['port', 'path', 'method'] as const) if (typeof values[k] === 'string') q.set(k, values[k]);
    for (const h of (values.header as string[] | undefined) ?? []) q.append('header', h);
    const base = await adminUrl(values);
    const r = await adminGet<ExplainResult>(base, `/debug/explain?${q.toString()}`);
    render(io, format, r, () => explainText(r));
    return r.allowed ? 0 : 1;
  },
};
