/**
 * What is kept of an object before it is cached and stored. Every object loses `managedFields` and kubectl's
 * last-applied annotation (often larger than the object). Pods keep only what the catalog reads: identity
 * (name, namespace, uid, labels, annotations), service account, container ports and IPs — a real pod is 5-20
 * KiB of JSON, its reduced form a few hundred bytes.
 */
import type { KubeObject } from '@trellis/plugin-sdk';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);

function reduceMeta(meta: Rec, keepAll: boolean): KubeObject['metadata'] {
  const { managedFields: _m, annotations, ...rest } = meta;
  const kept = keepAll ? rest : pick(rest, ['name', 'namespace', 'uid', 'resourceVersion', 'labels', 'deletionTimestamp']);
  const ann = isRec(annotations) ? Object.fromEntries(Object.entries(annotations).filter(([k]) => k !== LAST_APPLIED)) : undefined;
  return { ...(kept as KubeObject['metadata']), ...(ann && Object.keys(ann).length > 0 && { annotations: ann as Record<string, string> }) };
}

function pick(o: Rec, keys: readonly string[]): Rec {
  const out: Rec = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

function reducePod(obj: Rec): Rec {
  const spec = isRec(obj.spec) ? obj.spec : {};
  const status = isRec(obj.status) ? obj.status : {};
  const containers = Array.isArray(spec.containers)
    ? spec.containers.filter(isRec).map((c) => ({
        ...(typeof c.name === 'string' && { name: c.name }),
        ...(Array.isArray(c.ports) && { ports: c.ports.filter(isRec).map((p) => pick(p, ['name', 'containerPort', 'protocol'])) }),
      }))
    : undefined;
  return {
    spec: { ...pick(spec, ['serviceAccountName', 'serviceAccount', 'nodeName']), ...(containers && { containers }) },
    status: pick(status, ['podIP', 'podIPs', 'phase']),
  };
}

/** The stored form of `obj` as served at `apiVersion`/`kind` (list items carry neither). */
export function reduce(obj: Rec, apiVersion: string, kind: string): KubeObject {
  const meta = isRec(obj.metadata) ? obj.metadata : {};
  if (kind === 'Pod' && apiVersion === 'v1') return { apiVersion, kind, metadata: reduceMeta(meta, false), ...reducePod(obj) };
  const { apiVersion: _a, kind: _k, metadata: _md, ...rest } = obj;
  return { apiVersion, kind, metadata: reduceMeta(meta, true), ...rest };
}
