/**
 * The reason the deny responder gives a proxyless call: `policy explain` for (the caller's identity, the
 * Service the `:authority` names, the `:path`), so the message names the missing policy, e.g.
 * `denied: t/a's proxy has no route to t/b:8080 (...); no TrafficTarget has destination t/b with source t/a`.
 */
import { identityKey } from '@trellis/plugin-sdk';
import type { Catalog } from '../catalog/index.ts';
import { ExplainInputError, explainPolicy } from '../catalog/index.ts';
import type { MeshStore } from '../store/index.ts';
import type { DenyCaller } from './deny-responder.ts';

/** The Service (and port) an `xds:///` target names, read the way the catalog names them (serviceHostnames). */
export function serviceOfAuthority(authority: string, clientNamespace: string): { namespace: string; name: string; port?: number } | undefined {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)(?::(\d{1,5}))?$/.exec(authority.toLowerCase());
  if (!m) return undefined;
  const labels = (m[1] as string).split('.');
  // name | name.ns | name.ns.svc | name.ns.svc.<cluster domain...>
  if (labels.length > 2 && labels[2] !== 'svc') return undefined;
  const name = labels[0] as string;
  const namespace = labels[1] ?? clientNamespace;
  return { namespace, name, ...(m[4] !== undefined && { port: Number(m[4]) }) };
}

export interface DenyVerdictDeps {
  readonly catalog: Catalog;
  readonly store: MeshStore;
  /** Trust domains the mesh serves (a certificate of another is no mesh identity). */
  readonly trustDomains: () => readonly string[];
}

export function denyVerdict(deps: DenyVerdictDeps, caller: DenyCaller, authority: string, path: string): string {
  const target = `xds:///${authority}`;
  if (!caller.identity) return `denied by mesh policy: ${caller.why}, so the controller cannot tell which policy is missing for ${target}`;
  if (!deps.trustDomains().includes(caller.trustDomain)) return `denied by mesh policy: the caller's certificate names trust domain "${caller.trustDomain}", which this mesh does not serve`;
  const from = identityKey(caller.identity);
  const svc = serviceOfAuthority(authority, caller.identity.namespace);
  const model = svc && deps.catalog.service(`${svc.namespace}/${svc.name}`);
  if (!svc || !model) return `denied: ${target} is not a mesh Service ${from} may call`;
  // A port-less name means the lowest port (the gRPC backend's rule for its port-less listeners).
  const port = svc.port ?? Math.min(...model.ports.map((p) => p.port.port));
  try {
    const r = explainPolicy(deps.catalog, deps.store, { from: `sa:${from}`, to: `svc:${svc.namespace}/${svc.name}`, port, path: path || '/', method: 'POST' });
    // Policy allows it now: the client's config is behind (it will get the real Listener with the next push).
    if (r.allowed) return `denied for now: policy allows ${from} to call ${target} but this client's configuration predates it; retry`;
    return r.reasons.join('; ');
  } catch (err) {
    if (err instanceof ExplainInputError) return `denied: ${target} is not a mesh Service ${from} may call (${err.message})`;
    throw err;
  }
}
