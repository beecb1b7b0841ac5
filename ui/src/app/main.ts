/**
 * The mesh page: fetches /debug/topology, draws it, and refetches whenever /ui/events says the mesh changed.
 * `window.trellisUi` exposes the drawn state for tests and for scripting from the devtools console.
 */
import type { Core, NodeSingular, EdgeSingular } from 'cytoscape';
import { byId, el, replace } from './dom.ts';
import { explainQuery, runExplain } from './explain.ts';
import { WHOLE_LAYOUT_MAX_NODES, createGraph, fitTo, render } from './graph.ts';
import { renderEdge, renderNode, renderPolicies, renderProxies } from './panels.ts';
import type { Topology } from './types.ts';

interface UiState {
  /** Topologies drawn so far (1 after the first load). */
  renders: number;
  generation: number | undefined;
  live: boolean;
  nodes: { id: string; type: string; classes: string[]; visible: boolean }[];
  edges: { id: string; type: string; source: string; target: string; label: string; visible: boolean }[];
  matches: string[];
}

declare global {
  interface Window {
    trellisUi?: { state(): UiState; search(q: string): string[]; cy(): Core | undefined; refresh(): Promise<void> };
  }
}

const root = document.documentElement;
let cy: Core | undefined;
let topology: Topology | undefined;
let renders = 0;
let live = false;
let inFlight: Promise<void> | undefined;
let again = false;
let selected: string | undefined;

const search = byId<HTMLInputElement>('search');
const nsSelect = byId<HTMLSelectElement>('namespace');
const details = byId('tab-details');

function show(tab: string): void {
  for (const b of document.querySelectorAll<HTMLButtonElement>('aside nav button')) b.setAttribute('aria-selected', String(b.dataset.tab === tab));
  for (const s of document.querySelectorAll<HTMLElement>('aside .tab')) s.hidden = s.id !== `tab-${tab}`;
}
for (const b of document.querySelectorAll<HTMLButtonElement>('aside nav button')) b.addEventListener('click', () => show(b.dataset.tab ?? 'details'));

/** Highlights nodes whose `ns/name` contains the query and fades the rest; returns the matching node ids. */
function applySearch(): string[] {
  if (!cy) return [];
  const q = search.value.trim().toLowerCase();
  const matches: string[] = [];
  cy.batch(() => {
    const c = cy as Core;
    c.elements().removeClass('match faded');
    if (!q) return;
    const hit = c.nodes(':childless').filter((n) => `${String(n.data('namespace'))}/${String(n.data('name'))}`.toLowerCase().includes(q));
    hit.forEach((n) => void matches.push(n.id()));
    hit.addClass('match');
    const near = hit.union(hit.connectedEdges()).union(hit.connectedEdges().connectedNodes());
    c.elements().not(near).not(near.filter('node').ancestors()).addClass('faded');
  });
  byId('summary').textContent = q ? `${matches.length} match${matches.length === 1 ? '' : 'es'}` : summaryText();
  root.dataset.matches = String(matches.length);
  return matches;
}

/** Namespace and edge-type filters: hidden elements are not drawn at all. */
function applyFilters(): void {
  if (!cy) return;
  const ns = nsSelect.value;
  const c = cy;
  cy.batch(() => {
    c.elements().removeClass('hidden');
    for (const type of ['allow', 'split', 'backs']) if (!byId<HTMLInputElement>(`show-${type}`).checked) c.edges(`.${type}`).addClass('hidden');
    if (ns) {
      const inNs = c.nodes(':childless').filter((n) => n.data('namespace') === ns);
      const keep = inNs.union(inNs.connectedEdges().connectedNodes());
      c.nodes(':childless').not(keep).addClass('hidden');
      c.nodes('.namespace').filter((n) => n.children().not('.hidden').empty()).addClass('hidden');
    }
  });
}

function summaryText(): string {
  if (!topology) return '';
  const t = topology;
  const services = t.nodes.filter((n) => n.type === 'service').length;
  return `${t.namespaces.length} namespaces · ${services} services · ${t.nodes.length - services} identities · ${t.edges.filter((e) => e.type === 'allow').length} allowed · ${t.proxies.length} proxies`;
}

function showSelection(): void {
  if (!topology || !selected) return;
  const n = topology.nodes.find((x) => x.id === selected);
  if (n) return renderNode(details, topology, n);
  const e = topology.edges.find((x) => x.id === selected);
  if (e) return renderEdge(details, e, prefillExplain);
  replace(details, el('p', { class: 'hint' }, 'The selection is no longer in the mesh.'));
}

/** Selecting an identity fills explain's From, a service its To (the form keeps the other field). */
function prefillFromSelection(id: string): void {
  const form = byId<HTMLFormElement>('explain-form');
  const field = id.startsWith('id:') ? 'from' : id.startsWith('svc:') ? 'to' : undefined;
  if (field) (form.elements.namedItem(field) as HTMLInputElement).value = id.slice(id.indexOf(':') + 1);
}

function prefillExplain(from: string, to: string): void {
  const form = byId<HTMLFormElement>('explain-form');
  (form.elements.namedItem('from') as HTMLInputElement).value = from;
  (form.elements.namedItem('to') as HTMLInputElement).value = to;
  show('explain');
}

async function load(): Promise<void> {
  const res = await fetch('/debug/topology', { headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`GET /debug/topology: HTTP ${res.status}`);
  const t = (await res.json()) as Topology;
  topology = t;
  if (!cy) {
    cy = createGraph(byId('cy'), t.nodes.length > WHOLE_LAYOUT_MAX_NODES);
    cy.on('tap', 'node:childless, edge', (ev) => {
      selected = (ev.target as NodeSingular | EdgeSingular).id();
      prefillFromSelection(selected);
      show('details');
      showSelection();
    });
  }
  await render(cy, t);
  const current = nsSelect.value;
  replace(nsSelect, el('option', { value: '' }, 'All namespaces'), ...t.namespaces.map((n) => el('option', { value: n.name }, `${n.name} (${n.services} svc)`)));
  nsSelect.value = t.namespaces.some((n) => n.name === current) ? current : '';
  applyFilters();
  applySearch();
  const banner = byId('banner');
  banner.hidden = !t.permissive && t.denied.length === 0;
  banner.textContent = t.permissive ? 'Permissive mode: every identity may call every service; no allow edges are drawn.' : '';
  const problems = renderPolicies(byId('tab-policies'), t);
  byId('policy-count').textContent = problems ? String(problems) : '';
  renderProxies(byId('tab-proxies'), t);
  const counts = byId('proxy-count');
  const unsynced = t.proxies.filter((p) => p.sync !== 'synced').length;
  counts.textContent = t.proxies.length ? String(unsynced || t.proxies.length) : '';
  counts.className = unsynced ? 'count' : 'count ok';
  showSelection();
  renders++;
  root.dataset.generation = String(t.generation);
  root.dataset.renders = String(renders);
  root.dataset.state = 'ready';
}

/** One load at a time; changes that arrive meanwhile cause exactly one more. */
function refresh(): Promise<void> {
  if (inFlight) {
    again = true;
    return inFlight;
  }
  inFlight = load()
    .catch((err: unknown) => {
      root.dataset.state = 'error';
      const banner = byId('banner');
      banner.hidden = false;
      banner.textContent = `Could not load the topology: ${String(err)}`;
    })
    .finally(() => {
      inFlight = undefined;
      if (again) {
        again = false;
        void refresh();
      }
    });
  return inFlight;
}

function connectEvents(): void {
  const badge = byId('live');
  const es = new EventSource('/ui/events');
  const setLive = (on: boolean): void => {
    live = on;
    badge.textContent = on ? 'live' : 'reconnecting';
    badge.className = on ? 'live on' : 'live off';
    root.dataset.live = String(on);
  };
  es.addEventListener('open', () => setLive(true));
  es.addEventListener('error', () => setLive(false));
  // The first event after (re)connecting also refreshes: changes may have happened while disconnected.
  es.addEventListener('hello', () => void refresh());
  es.addEventListener('change', () => void refresh());
}

let searchTimer: ReturnType<typeof setTimeout> | undefined;
search.addEventListener('input', () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(applySearch, 120);
});
search.addEventListener('keydown', (ev) => {
  if (ev.key !== 'Enter' || !cy) return;
  const hit = cy.nodes('.match');
  if (hit.nonempty()) fitTo(cy, hit, 60);
});
nsSelect.addEventListener('change', () => {
  applyFilters();
  if (cy) fitTo(cy, cy.elements(':visible'), 30);
});
for (const type of ['allow', 'split', 'backs']) byId(`show-${type}`).addEventListener('change', applyFilters);
byId('fit').addEventListener('click', () => cy && fitTo(cy, cy.elements(':visible'), 30));
byId<HTMLFormElement>('explain-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  void runExplain(explainQuery(new FormData(ev.target as HTMLFormElement)), byId('explain-result'));
});

window.trellisUi = {
  state: () => ({
    renders,
    generation: topology?.generation,
    live,
    nodes: (cy?.nodes(':childless').map((n) => ({ id: n.id(), type: String(n.data('kind')), classes: n.classes(), visible: n.visible() })) ?? []),
    edges: (cy?.edges().map((e) => ({ id: e.id(), type: String(e.data('kind')), source: e.source().id(), target: e.target().id(), label: String(e.data('label') ?? ''), visible: e.visible() })) ?? []),
    matches: cy?.nodes('.match').map((n) => n.id()) ?? [],
  }),
  search: (q: string) => {
    search.value = q;
    return applySearch();
  },
  cy: () => cy,
  refresh,
};

void refresh();
connectEvents();
