/**
 * Cross-object checks for `/debug/policies`: an accepted TrafficTarget or TrafficSplit may name objects that
 * do not exist (yet). Such a reference grants or carries nothing; the status says so instead of staying silent.
 * Computed when statuses are read, so the answer follows the referenced objects coming and going.
 */
import type { KindMap, MeshKind, TrafficSplitObj, TrafficTargetObj } from './kinds.ts';

type Lookup = <K extends MeshKind>(kind: K, namespace: string, name: string) => KindMap[K] | undefined;

export function targetReferenceProblems(tt: TrafficTargetObj, get: Lookup): string[] {
  const ns = tt.metadata.namespace;
  const out: string[] = [];
  tt.spec.rules.forEach((rule, i) => {
    const f = `spec.rules[${i}]`;
    if (rule.kind === 'HTTPRouteGroup') {
      const g = get('HTTPRouteGroup', ns, rule.name);
      if (!g) out.push(`${f}: HTTPRouteGroup ${ns}/${rule.name} does not exist (the rule grants nothing)`);
      else
        for (const m of rule.matches ?? [])
          if (!g.spec.matches.some((x) => x.name === m)) out.push(`${f}.matches: HTTPRouteGroup ${ns}/${rule.name} has no match "${m}"`);
    } else if (!get(rule.kind, ns, rule.name)) out.push(`${f}: ${rule.kind} ${ns}/${rule.name} does not exist (the rule grants nothing)`);
  });
  return out;
}

export function splitReferenceProblems(split: TrafficSplitObj, get: Lookup): string[] {
  const ns = split.metadata.namespace;
  const out: string[] = [];
  if (!get('Service', ns, split.spec.service)) out.push(`spec.service: Service ${ns}/${split.spec.service} does not exist (nothing is split until it does)`);
  split.spec.backends.forEach((b, i) => {
    if (!get('Service', ns, b.service)) out.push(`spec.backends[${i}].service: Service ${ns}/${b.service} does not exist (its weight goes nowhere until it does)`);
  });
  (split.spec.matches ?? []).forEach((m, i) => {
    if (!get('HTTPRouteGroup', ns, m.name)) out.push(`spec.matches[${i}]: HTTPRouteGroup ${ns}/${m.name} does not exist (it matches nothing)`);
  });
  return out;
}
