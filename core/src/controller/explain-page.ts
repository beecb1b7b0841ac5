import type { DebugPage } from '@trellis/plugin-sdk';
import { ExplainInputError, explainPolicy, type Catalog, type ExplainRequest } from '../catalog/index.ts';
import type { MeshStore } from '../store/index.ts';

type Query = Readonly<Record<string, string | readonly string[] | undefined>>;

const one = (q: Query, name: string): string | undefined => {
  const v = q[name];
  if (Array.isArray(v)) throw new ExplainInputError(`?${name} given more than once`);
  return typeof v === 'string' && v !== '' ? v : undefined;
};

/** `header=k=v`, repeatable, into a header map (names lowercased as HTTP/2 sends them). */
export function parseHeaders(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of values) {
    const i = h.indexOf('=');
    if (i <= 0) throw new ExplainInputError(`header "${h}" must be name=value`);
    out[h.slice(0, i).toLowerCase()] = h.slice(i + 1);
  }
  return out;
}

/** The explain request a query string asks for (`from`, `to` required; `port`, `path`, `method`, `header` repeatable). */
export function explainRequestFromQuery(q: Query): ExplainRequest {
  const from = one(q, 'from');
  const to = one(q, 'to');
  if (!from || !to) throw new ExplainInputError('?from=<ns/name>&to=<ns/name> are required (optional: port, path, method, header=k=v repeatable)');
  const h = q.header;
  const headers = parseHeaders(h === undefined ? [] : typeof h === 'string' ? [h] : h);
  const port = one(q, 'port');
  const path = one(q, 'path');
  const method = one(q, 'method');
  return { from, to, headers, ...(port !== undefined && { port }), ...(path !== undefined && { path }), ...(method !== undefined && { method }) };
}

/** `/debug/explain?from=..&to=..`: `policy explain` on the admin API (the CLI and the mesh page call it). */
export function explainPage(catalog: Catalog, store: MeshStore): DebugPage {
  return { name: 'explain', get: (q = {}) => explainPolicy(catalog, store, explainRequestFromQuery(q)) };
}
