// The side panel's lists: what is selected, invalid and ignored policies, proxies and their sync state.
import { el, replace } from './dom.ts';
import type { PolicyStatus, TopoEdge, TopoNode, Topology } from './types.ts';

const where = (p: { file?: string; line?: number; source?: string }): string =>
  p.file ? ` (${p.source ? `${p.source}: ` : ''}${p.file}${p.line !== undefined ? `:${p.line}` : ''})` : p.source ? ` (${p.source})` : '';

function policyItem(p: PolicyStatus): HTMLElement {
  return el('li', { 'data-policy': `${p.kind}/${p.namespace}/${p.name}` }, el('span', { class: `badge ${p.status}` }, p.status), ' ', el('code', {}, `${p.kind} ${p.namespace}/${p.name}`), where(p), el('br'), p.reason ?? '');
}

export function renderPolicies(section: HTMLElement, t: Topology): number {
  const { invalid, ignored, sourceErrors, unknownObjects } = t.policies;
  const problems = invalid.length + ignored.length + sourceErrors.length + unknownObjects.length;
  if (problems === 0) {
    replace(section, el('p', { class: 'hint' }, 'Every policy is accepted.'));
    return 0;
  }
  replace(
    section,
    invalid.length ? el('h3', {}, `Invalid (${invalid.length}): rejected, the last good version stays`) : null,
    invalid.length ? el('ul', { id: 'invalid-policies' }, ...invalid.map(policyItem)) : null,
    ignored.length ? el('h3', {}, `Ignored (${ignored.length}): accepted but without effect`) : null,
    ignored.length ? el('ul', { id: 'ignored-policies' }, ...ignored.map(policyItem)) : null,
    sourceErrors.length ? el('h3', {}, `Source errors (${sourceErrors.length})`) : null,
    sourceErrors.length ? el('ul', {}, ...sourceErrors.map((e) => el('li', {}, `${e.message ?? ''}${where(e)}`))) : null,
    unknownObjects.length ? el('h3', {}, `Unknown kinds (${unknownObjects.length})`) : null,
    unknownObjects.length ? el('ul', {}, ...unknownObjects.map((o) => el('li', {}, el('code', {}, `${o.apiVersion} ${o.kind} ${o.namespace ?? ''}/${o.name}`), ` ${o.reason}`))) : null,
  );
  return problems;
}

export function renderProxies(section: HTMLElement, t: Topology): void {
  if (t.proxies.length === 0) {
    replace(section, el('p', { class: 'hint' }, 'No proxy is connected.'));
    return;
  }
  const rows = t.proxies.map((p) =>
    el('tr', { 'data-proxy': p.nodeId }, el('td', {}, el('code', {}, p.identity)), el('td', {}, p.kind), el('td', {}, `${p.protocol}/${p.transport}`), el('td', {}, el('span', { class: `badge ${p.sync}` }, p.sync), p.lastNack ? el('div', {}, p.lastNack) : null)),
  );
  replace(section, el('table', {}, el('thead', {}, el('tr', {}, el('th', {}, 'identity'), el('th', {}, 'kind'), el('th', {}, 'stream'), el('th', {}, 'sync'))), el('tbody', {}, ...rows)));
}

const short = (id: string): string => id.replace(/^(svc|id):/, '');

export function renderNode(section: HTMLElement, t: Topology, n: TopoNode): void {
  const incoming = t.edges.filter((e) => e.target === n.id);
  const outgoing = t.edges.filter((e) => e.source === n.id);
  const list = (title: string, edges: TopoEdge[], other: (e: TopoEdge) => string) =>
    edges.length ? [el('h3', {}, `${title} (${edges.length})`), el('ul', {}, ...edges.map((e) => el('li', {}, el('code', {}, short(other(e))), e.type === 'split' ? ` ${e.weight ?? 0} (${Math.round((e.share ?? 0) * 100)}%)` : '', e.trafficTargets?.length ? ` via ${e.trafficTargets.join(', ')}` : '')))] : [];
  const proxies = t.proxies.filter((p) => `id:${p.identity}` === n.id);
  replace(
    section,
    el('h2', {}, `${n.type === 'service' ? 'Service' : 'Identity'} ${n.namespace}/${n.name}`),
    n.missing ? el('p', { class: 'message' }, n.type === 'service' ? 'No such Service: only a TrafficSplit names it.' : 'No ServiceAccount or pod: only a policy or a proxy names it.') : null,
    n.ports?.length ? el('p', {}, 'Ports: ', n.ports.map((p) => `${p.port}/${p.protocol}${p.name ? ` (${p.name})` : ''}`).join(', ')) : null,
    ...(n.type === 'service'
      ? [...list('May be called by', incoming.filter((e) => e.type === 'allow'), (e) => e.source), ...list('Split to', outgoing.filter((e) => e.type === 'split'), (e) => e.target), ...list('Split from', incoming.filter((e) => e.type === 'split'), (e) => e.source), ...list('Backed by', outgoing.filter((e) => e.type === 'backs'), (e) => e.target)]
      : [...list('May call', outgoing.filter((e) => e.type === 'allow'), (e) => e.target), ...list('Behind', incoming.filter((e) => e.type === 'backs'), (e) => e.source)]),
    n.type === 'identity' ? el('h3', {}, `Proxies (${proxies.length})`) : null,
    n.type === 'identity' && proxies.length ? el('ul', {}, ...proxies.map((p) => el('li', {}, el('span', { class: `badge ${p.sync}` }, p.sync), ` ${p.kind} ${p.nodeId}`, p.lastNack ? ` — ${p.lastNack}` : ''))) : null,
  );
}

export function renderEdge(section: HTMLElement, e: TopoEdge, onExplain: (from: string, to: string) => void): void {
  const title = e.type === 'allow' ? 'Allowed' : e.type === 'split' ? 'Split' : 'Backs';
  const explainButton = e.type === 'allow' ? el('button', { class: 'link', type: 'button' }, 'Explain this edge') : null;
  explainButton?.addEventListener('click', () => onExplain(short(e.source), short(e.target)));
  replace(
    section,
    el('h2', {}, `${title}: ${short(e.source)} → ${short(e.target)}`),
    e.trafficTargets?.length ? el('p', {}, 'TrafficTargets: ', ...e.trafficTargets.map((x) => el('code', {}, `${x} `))) : null,
    e.ports?.length ? el('p', {}, `Target ports: ${e.ports.join(', ')}`) : null,
    e.routes?.length ? el('h3', {}, 'HTTP routes') : null,
    e.routes?.length ? el('ul', {}, ...e.routes.map((r) => el('li', {}, el('code', {}, `${r.methods.join(',')} ${r.pathRegex}`), ` (${r.name})`, r.headers?.length ? ` headers ${r.headers.map((h) => `${h.name}=${h.valueRegex}`).join(', ')}` : ''))) : null,
    e.type === 'split' ? el('p', {}, `TrafficSplit ${e.split ?? ''}: weight ${e.weight ?? 0} (${Math.round((e.share ?? 0) * 100)}%)`) : null,
    explainButton,
  );
}
