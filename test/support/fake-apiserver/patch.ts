/**
 * The three patch types the API server takes: JSON merge patch (RFC 7386), JSON patch (RFC 6902, through
 * fast-json-patch), and strategic merge patch as kubectl sends it for built-in kinds: a merge patch in which
 * lists of objects merge by their field's merge key (containers and env by `name`, Service ports by `port`...), `$patch: delete|replace` applies, and the
 * `$setElementOrder/`, `$retainKeys`, `$deleteFromPrimitiveList/` directives are honoured or dropped. (The real
 * server reads merge keys from Go struct tags; MERGE_KEYS lists the ones of the fields Trellis reads.)
 */
import fjp, { type Operation } from 'fast-json-patch';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const isMap = (v: unknown): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function mergePatch(target: Json, patch: Json): Json {
  if (!isMap(patch)) return patch;
  const out: Record<string, Json> = isMap(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k] ?? null, v);
  }
  return out;
}

/** Merge keys of the list fields of built-in kinds (Go struct tags `patchMergeKey`); other lists are replaced. */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  imagePullSecrets: 'name',
  conditions: 'type',
  ownerReferences: 'uid',
  hostAliases: 'ip',
};
function mergeKey(field: string, sample: Json[]): string | undefined {
  // Service ports merge by `port`, container ports by `containerPort`.
  if (field === 'ports') return sample.some((e) => isMap(e) && 'containerPort' in e) ? 'containerPort' : 'port';
  return MERGE_KEYS[field];
}

export function strategicMergePatch(target: Json, patch: Json): Json {
  if (!isMap(patch)) return patch;
  if (patch.$patch === 'replace') {
    const { $patch: _, ...rest } = patch;
    return rest;
  }
  const out: Record<string, Json> = isMap(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$retainKeys' || k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const key = k.slice('$deleteFromPrimitiveList/'.length);
      const drop = new Set((Array.isArray(v) ? v : []).map((e) => JSON.stringify(e)));
      const cur = out[key];
      if (Array.isArray(cur)) out[key] = cur.filter((e) => !drop.has(JSON.stringify(e)));
      continue;
    }
    const cur = out[k];
    if (v === null) delete out[k];
    else if (Array.isArray(v) && Array.isArray(cur) && mergeKey(k, [...cur, ...v]) !== undefined && v.every(isMap)) {
      const mk = mergeKey(k, [...cur, ...v])!;
      const merged = [...cur] as Record<string, Json>[];
      for (const e of v) {
        const i = merged.findIndex((m) => JSON.stringify(m[mk]) === JSON.stringify(e[mk]));
        if (e.$patch === 'delete') {
          if (i >= 0) merged.splice(i, 1);
        } else if (i >= 0) merged[i] = strategicMergePatch(merged[i]!, e) as Record<string, Json>;
        else merged.push(strategicMergePatch(null, e) as Record<string, Json>);
      }
      out[k] = merged;
    } else out[k] = isMap(v) ? strategicMergePatch(cur ?? null, v) : v;
  }
  return out;
}

/** Applies an RFC 6902 patch; throws with the failing operation. */
export function jsonPatch(target: Json, ops: unknown): Json {
  if (!Array.isArray(ops)) throw new Error('a JSON patch must be an array of operations');
  return fjp.applyPatch(fjp.deepClone(target), ops as Operation[], true, false).newDocument as Json;
}

export type { Json };
