/**
 * The topology as a cytoscape graph: namespaces are compound nodes holding their services and identities, and
 * elkjs computes positions. A small mesh gets one layered layout across namespaces (calls read left to
 * right); a large one is laid out per namespace (layered inside, namespaces packed), so 1000 services stay
 * fast to lay out and readable as namespace blocks.
 */
import cytoscape from 'cytoscape';
import type { CollectionArgument, Core, ElementDefinition, StylesheetJson } from 'cytoscape';
import ELK from 'elkjs/lib/elk.bundled.js';
import type { ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk.bundled.js';
import type { Topology, TopoNode } from './types.ts';

/** At or below this many nodes, one layout spans namespaces; above it, each namespace is laid out alone. */
export const WHOLE_LAYOUT_MAX_NODES = 200;
const LAYERED_MAX_NODES = 150;

const style: StylesheetJson = [
  { selector: 'node', style: { label: 'data(label)', 'font-size': 11, 'text-valign': 'center', 'text-halign': 'center', color: '#1f2933', 'text-wrap': 'ellipsis', 'text-max-width': '150px' } },
  { selector: 'node.namespace', style: { shape: 'round-rectangle', 'background-color': '#f0f4f8', 'background-opacity': 0.6, 'border-color': '#9fb3c8', 'border-width': 1, 'text-valign': 'top', 'text-halign': 'center', 'font-size': 'data(fontSize)', 'text-max-width': '2000px', 'font-weight': 'bold', color: '#486581', padding: '12px' } },
  { selector: 'node.service', style: { shape: 'round-rectangle', 'background-color': '#d9e8fb', 'border-color': '#2680c2', 'border-width': 2, width: 'data(w)', height: 28 } },
  { selector: 'node.identity', style: { shape: 'ellipse', 'background-color': '#e3f9e5', 'border-color': '#3f9142', 'border-width': 2, width: 'data(w)', height: 28 } },
  { selector: 'node.missing', style: { 'border-style': 'dashed', 'background-color': '#fff', 'border-color': '#9fb3c8', color: '#829ab1' } },
  { selector: 'node.pending', style: { 'border-color': '#f0b429', 'border-width': 4 } },
  { selector: 'node.nack', style: { 'border-color': '#e12d39', 'border-width': 4 } },
  { selector: 'edge', style: { width: 1.5, 'curve-style': 'bezier', 'target-arrow-shape': 'triangle', 'arrow-scale': 0.9 } },
  { selector: 'edge.allow', style: { 'line-color': '#334e68', 'target-arrow-color': '#334e68' } },
  { selector: 'edge.split', style: { 'line-color': '#8719e0', 'target-arrow-color': '#8719e0', 'line-style': 'dashed', label: 'data(label)', 'font-size': 10, color: '#8719e0', 'text-background-color': '#fff', 'text-background-opacity': 0.8 } },
  { selector: 'edge.backs', style: { 'line-color': '#9fb3c8', 'target-arrow-shape': 'none', 'line-style': 'dotted', width: 1 } },
  { selector: '.faded', style: { opacity: 0.15 } },
  { selector: 'node.match', style: { 'border-color': '#f7c948', 'border-width': 5, 'z-index': 10 } },
  { selector: '.hidden', style: { display: 'none' } },
  { selector: ':selected', style: { 'overlay-color': '#2680c2', 'overlay-opacity': 0.2, 'overlay-padding': 4 } },
];

const labelWidth = (label: string): number => Math.max(70, Math.min(170, label.length * 6.6 + 24));
export const namespaceId = (ns: string): string => `ns:${ns}`;

function nodeClasses(n: TopoNode): string {
  const c: string[] = [n.type];
  if (n.missing) c.push('missing');
  if (n.proxies?.nack) c.push('nack');
  else if (n.proxies?.pending) c.push('pending');
  return c.join(' ');
}

export function elementsOf(t: Topology): ElementDefinition[] {
  // Namespace names stay legible when a large mesh is zoomed out to fit.
  const fontSize = t.nodes.length > WHOLE_LAYOUT_MAX_NODES ? 40 : 13;
  const els: ElementDefinition[] = t.namespaces.map((ns) => ({ group: 'nodes', data: { id: namespaceId(ns.name), label: ns.name, namespace: ns.name, fontSize }, classes: 'namespace' }));
  for (const n of t.nodes) {
    els.push({ group: 'nodes', data: { id: n.id, label: n.name, w: labelWidth(n.name), parent: namespaceId(n.namespace), namespace: n.namespace, name: n.name, kind: n.type }, classes: nodeClasses(n) });
  }
  for (const e of t.edges) {
    const label = e.type === 'split' ? `${Math.round((e.share ?? 0) * 100)}%` : '';
    els.push({ group: 'edges', data: { id: e.id, source: e.source, target: e.target, kind: e.type, label }, classes: e.type });
  }
  return els;
}

/** Centre positions of every node (not namespaces: cytoscape sizes compounds around their children). */
export async function layout(t: Topology): Promise<Map<string, { x: number; y: number }>> {
  const elk = new ELK();
  const whole = t.nodes.length <= WHOLE_LAYOUT_MAX_NODES;
  const byNs = new Map<string, TopoNode[]>();
  for (const n of t.nodes) byNs.set(n.namespace, [...(byNs.get(n.namespace) ?? []), n]);
  const nsOf = new Map(t.nodes.map((n) => [n.id, n.namespace]));
  const edge = (e: { id: string; source: string; target: string }): ElkExtendedEdge => ({ id: e.id, sources: [e.source], targets: [e.target] });
  const spacing = { 'elk.spacing.nodeNode': '18', 'elk.layered.spacing.nodeNodeBetweenLayers': '50', 'elk.padding': '[top=28,left=12,bottom=12,right=12]' };
  const children: ElkNode[] = [...byNs.entries()].map(([ns, nodes]) => {
    const inner = whole ? [] : t.edges.filter((e) => nsOf.get(e.source) === ns && nsOf.get(e.target) === ns && e.source !== e.target).map(edge);
    const algorithm = whole || nodes.length <= LAYERED_MAX_NODES ? 'layered' : 'rectpacking';
    // Laid out alone, a namespace's long call chains wrap into rows so every block stays near-square.
    const wrap: Record<string, string> = whole ? {} : { 'elk.layered.wrapping.strategy': 'MULTI_EDGE', 'elk.aspectRatio': '1.4' };
    return {
      id: namespaceId(ns),
      layoutOptions: { 'elk.algorithm': algorithm, 'elk.direction': 'RIGHT', ...spacing, ...wrap },
      children: nodes.map((n) => ({ id: n.id, width: labelWidth(n.name), height: 28 })),
      edges: inner,
    };
  });
  const root: ElkNode = whole
    ? {
        id: 'root',
        layoutOptions: { 'elk.algorithm': 'layered', 'elk.direction': 'RIGHT', 'elk.hierarchyHandling': 'INCLUDE_CHILDREN', ...spacing },
        children,
        edges: t.edges.filter((e) => e.source !== e.target && nsOf.has(e.source) && nsOf.has(e.target)).map(edge),
      }
    : { id: 'root', layoutOptions: { 'elk.algorithm': 'rectpacking', 'elk.spacing.nodeNode': '30', 'elk.aspectRatio': '1.6' }, children, edges: [] };
  const out = await elk.layout(root);
  const pos = new Map<string, { x: number; y: number }>();
  for (const ns of out.children ?? [])
    for (const n of ns.children ?? []) pos.set(n.id, { x: (ns.x ?? 0) + (n.x ?? 0) + (n.width ?? 0) / 2, y: (ns.y ?? 0) + (n.y ?? 0) + (n.height ?? 0) / 2 });
  return pos;
}

/** `large`: draw cheaper while panning and zooming (edges hidden meanwhile). */
export function createGraph(container: HTMLElement, large: boolean): Core {
  return cytoscape({ container, style, elements: [], wheelSensitivity: 0.3, minZoom: 0.02, maxZoom: 3, boxSelectionEnabled: false, hideEdgesOnViewport: large });
}

/** Fits the view to `what` (default: everything), never closer than 1.2: one match should not fill the screen. */
export function fitTo(cy: Core, what?: CollectionArgument, padding = 40): void {
  const target = what ?? cy.elements();
  cy.fit(target, padding);
  if (cy.zoom() > 1.2) {
    cy.zoom(1.2);
    cy.center(target);
  }
}

/** Replaces the graph's elements with the topology, positioned by elk. */
export async function render(cy: Core, t: Topology): Promise<void> {
  const pos = await layout(t);
  cy.batch(() => {
    cy.elements().remove();
    cy.add(elementsOf(t));
    cy.nodes().forEach((n) => {
      const p = pos.get(n.id());
      if (p) n.position(p);
    });
  });
  fitTo(cy, undefined, 30);
}
