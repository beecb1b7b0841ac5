import { TypeUrls } from '@trellis/plugin-sdk';
import type { Snapshot } from './snapshot.ts';

const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);

/** EDS names a cluster needs: `eds_cluster_config.service_name`, or the cluster name. */
export function edsNamesOf(cluster: Obj): string[] {
  if (cluster.type !== 'EDS' && cluster.type !== 3) return [];
  const eds = isObj(cluster.eds_cluster_config) ? cluster.eds_cluster_config : {};
  const name = typeof eds.service_name === 'string' && eds.service_name ? eds.service_name : cluster.name;
  return typeof name === 'string' ? [name] : [];
}

/** RDS names a listener needs: every HttpConnectionManager's `rds.route_config_name`. */
export function rdsNamesOf(listener: Obj): string[] {
  const hcms: Obj[] = [];
  const consider = (typed: unknown) => {
    if (isObj(typed) && typeof typed['@type'] === 'string' && typed['@type'].endsWith(`/${HCM}`)) hcms.push(typed);
  };
  const chains = [...list(listener.filter_chains), ...(isObj(listener.default_filter_chain) ? [listener.default_filter_chain] : [])];
  for (const chain of chains) for (const f of list(chain.filters)) consider(f.typed_config);
  if (isObj(listener.api_listener)) consider(listener.api_listener.api_listener);
  return hcms.flatMap((h) => (isObj(h.rds) && typeof h.rds.route_config_name === 'string' ? [h.rds.route_config_name] : []));
}

/** Problems that would leave a proxy waiting forever: EDS/RDS names referenced but absent, misfiled types. */
export function checkConsistency(snapshot: Snapshot): string[] {
  const problems: string[] = [];
  for (const typeUrl of snapshot.typeUrls()) {
    for (const r of snapshot.resources(typeUrl)) {
      if (r.typeUrl !== typeUrl) problems.push(`${typeUrl} "${r.name}": resource has type ${r.typeUrl}`);
    }
    const seen = new Set<string>();
    for (const r of snapshot.resources(typeUrl)) {
      if (seen.has(r.name)) problems.push(`${typeUrl}: duplicate resource name "${r.name}"`);
      seen.add(r.name);
    }
  }
  for (const c of snapshot.resources(TypeUrls.cluster)) {
    for (const eds of edsNamesOf(c.value)) {
      if (!snapshot.get(TypeUrls.endpoint, eds))
        problems.push(`cluster "${c.name}" references ClusterLoadAssignment "${eds}", which the snapshot does not contain`);
    }
  }
  for (const l of snapshot.resources(TypeUrls.listener)) {
    for (const rds of rdsNamesOf(l.value)) {
      if (!snapshot.get(TypeUrls.route, rds))
        problems.push(`listener "${l.name}" references RouteConfiguration "${rds}", which the snapshot does not contain`);
    }
  }
  return problems;
}
