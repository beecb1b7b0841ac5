/**
 * `policy diff`: a dry run of a policy change against the running mesh. The change is applied to a copy of the
 * store (its effective objects, through the store's own validation), a catalog over the copy computes views,
 * and the controller runs the real generators for every connected proxy family; the result is compared with
 * the snapshot each family holds now. Nothing reaches the real store or any proxy.
 */
// fast-json-patch is CommonJS: Node's ESM loader gives only its default export, so no named imports.
import jsonPatch, { type Operation } from 'fast-json-patch';
import { keyOf, type KubeObject, type Logger, type ObjectKey, type PolicyKind } from '@trellis/plugin-sdk';
import { Bus } from '../bus/bus.ts';
import { Catalog } from '../catalog/index.ts';
import { silentLogger } from '../kernel/logger.ts';
import { MetricsRegistry } from '../metrics/registry.ts';
import { MeshSettingsService } from '../settings/index.ts';
import { MeshStore, type MeshKind, type PolicyStatus } from '../store/index.ts';
import { KNOWN_KINDS } from '../store/kinds.ts';
import type { Snapshot } from '../xds/index.ts';
import { redactResource } from '../xds/server/redact.ts';

import type { MeshController } from './controller.ts';

export interface PolicyChange {
  /** Objects to add or replace, as a source would deliver them. */
  readonly apply: readonly KubeObject[];
  /** Objects to delete (their keys). */
  readonly delete: readonly ObjectKey[];
}

export interface ResourceRef {
  readonly type: string;
  readonly name: string;
}

/** One RFC 6902 operation, with the value it replaces or removes (`old`) for reading. */
export type FieldChange = Operation & { readonly old?: unknown };

export interface ResourceChange extends ResourceRef {
  /** RFC 6902 operations from the current resource to the new one (key material redacted on both sides). */
  readonly diff: readonly FieldChange[];
}

export interface ProxyDiff {
  /** Snapshot key (one per identity and proxy kind; every proxy of the family gets the same config). */
  readonly key: string;
  readonly identity: string;
  readonly kind: string;
  readonly added: readonly ResourceRef[];
  readonly removed: readonly ResourceRef[];
  readonly changed: readonly ResourceChange[];
  /** The generator failed on the new state: proxies would keep their last good config. */
  readonly error?: string;
}

export interface PolicyDiffResult {
  /** Families whose config would change (or fail to build). */
  readonly proxies: readonly ProxyDiff[];
  /** Connected families whose config would stay as it is. */
  readonly unchanged: readonly string[];
  /** What the store would say about the objects given (invalid or ignored, with the field and why). */
  readonly validation: readonly { readonly object: string; readonly status: string; readonly reason: string }[];
}

const TYPE_NAME = (t: string): string => t.replace(/^.*\./, '');

/** Every built-in kind the store holds. */
const MESH_KINDS: readonly MeshKind[] = [...new Set(Object.values(KNOWN_KINDS).flatMap((g) => Object.keys(g) as MeshKind[]))];

/** A store holding `store`'s effective objects (and plugin policy objects), under one source named `copy`. */
export function copyStore(store: MeshStore, policyKinds: () => readonly PolicyKind[], logger: Logger = silentLogger()): MeshStore {
  const metrics = new MetricsRegistry();
  const copy = new MeshStore({ bus: new Bus(logger, metrics), logger, metrics, policyKinds });
  const objects: { obj: KubeObject }[] = [];
  for (const kind of MESH_KINDS) for (const o of store.list(kind)) objects.push({ obj: o });
  for (const pk of policyKinds()) for (const o of store.plugins.list(pk.apiVersion, pk.kind)) objects.push({ obj: o });
  copy.sinkFor('copy').replaceAll(objects);
  return copy;
}

function diffSnapshots(current: Snapshot | undefined, next: Snapshot): { added: ResourceRef[]; removed: ResourceRef[]; changed: ResourceChange[] } {
  const added: ResourceRef[] = [];
  const removed: ResourceRef[] = [];
  const changed: ResourceChange[] = [];
  const types = [...new Set([...(current?.typeUrls() ?? []), ...next.typeUrls()])].sort();
  for (const type of types) {
    const before = current?.byName(type) ?? new Map();
    const after = next.byName(type);
    for (const [name, r] of [...after].sort(([a], [b]) => a.localeCompare(b))) {
      const old = before.get(name);
      if (!old) added.push({ type: TYPE_NAME(type), name });
      else if (old.version !== r.version) {
        const from = redactResource(old.value) as object;
        const diff = jsonPatch.compare(from, redactResource(r.value) as object).map((op): FieldChange => (op.op === 'replace' || op.op === 'remove' ? { ...op, old: jsonPatch.getValueByPointer(from, op.path) as unknown } : op));
        changed.push({ type: TYPE_NAME(type), name, diff });
      }
    }
    for (const name of [...before.keys()].sort()) if (!after.has(name)) removed.push({ type: TYPE_NAME(type), name });
  }
  return { added, removed, changed };
}

const statusKey = (s: { kind: string; namespace: string; name: string }): string => `${s.kind}/${s.namespace}/${s.name}`;

/** Dry-runs `change` against the running mesh (see the file comment). */
export async function policyDiff(deps: { store: MeshStore; meshSettings: MeshSettingsService; controller: MeshController; policyKinds: () => readonly PolicyKind[] }, change: PolicyChange): Promise<PolicyDiffResult> {
  const copy = copyStore(deps.store, deps.policyKinds);
  const settings = new MeshSettingsService(copy, { name: deps.meshSettings.name, defaults: deps.meshSettings.defaults });
  const catalog = new Catalog(copy, settings);
  try {
    const sink = copy.sinkFor('copy');
    const errorsBefore = new Set(copy.sourceErrors().map((e) => e.message));
    for (const k of change.delete) sink.delete(k);
    for (const o of change.apply) sink.apply(o);

    const named = new Set(change.apply.filter((o) => typeof o === 'object' && o !== null && o.metadata !== undefined).map((o) => statusKey({ kind: String(o.kind), namespace: o.metadata.namespace ?? '', name: String(o.metadata.name) })));
    const validation = [
      ...copy
        .policyStatuses()
        .filter((s: PolicyStatus) => s.status !== 'accepted' && named.has(statusKey(s)))
        .map((s) => ({ object: `${s.kind} ${s.namespace ? `${s.namespace}/` : ''}${s.name}`, status: s.status, reason: s.reason ?? s.status })),
      ...copy
        .sourceErrors()
        .filter((e) => !errorsBefore.has(e.message))
        .map((e) => ({ object: e.message.split(':')[0] ?? '', status: 'invalid', reason: e.message })),
      ...copy.ignoredObjects().map((i) => ({ object: `${i.apiVersion}/${i.kind}`, status: 'ignored', reason: 'unknown kind' })),
    ];

    const proxies: ProxyDiff[] = [];
    const unchanged: string[] = [];
    for (const p of await deps.controller.preview(catalog)) {
      const base = { key: p.key, identity: `${p.node.namespace}/${p.node.serviceAccount}`, kind: p.node.kind };
      if ('error' in p.next) {
        proxies.push({ ...base, added: [], removed: [], changed: [], error: p.next.error });
        continue;
      }
      const d = diffSnapshots(p.current, p.next);
      if (d.added.length + d.removed.length + d.changed.length === 0) unchanged.push(p.key);
      else proxies.push({ ...base, ...d });
    }
    return { proxies, unchanged, validation };
  } finally {
    catalog.dispose();
    settings.dispose();
  }
}

/** The body of `POST /debug/diff`: `{ apply: [objects], delete: [objects or keys] }`. */
export function parsePolicyChange(body: unknown): PolicyChange {
  const bad = (why: string): never => {
    throw Object.assign(new Error(`policy diff: ${why}`), { statusCode: 400 });
  };
  if (typeof body !== 'object' || body === null) return bad('the body must be {"apply": [...], "delete": [...]}');
  const b = body as { apply?: unknown; delete?: unknown };
  const apply = b.apply ?? [];
  const del = b.delete ?? [];
  if (!Array.isArray(apply) || !Array.isArray(del)) return bad('"apply" and "delete" must be arrays');
  const keys = del.map((d: unknown, i) => {
    const o = d as Partial<KubeObject> & Partial<ObjectKey>;
    const name = o.metadata?.name ?? o.name;
    if (typeof o.apiVersion !== 'string' || typeof o.kind !== 'string' || typeof name !== 'string') return bad(`delete[${i}]: needs apiVersion, kind and a name`);
    const ns = o.metadata?.namespace ?? o.namespace;
    return o.metadata ? keyOf(o as KubeObject) : { apiVersion: o.apiVersion, kind: o.kind, name, ...(typeof ns === 'string' && { namespace: ns }) };
  });
  return { apply: apply as KubeObject[], delete: keys };
}
