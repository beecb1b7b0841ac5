import { objectKeyString, type KubeObject, type Logger, type ObjectKey, type ObjectOrigin, type PolicyKind, type PolicyObjects } from '@trellis/plugin-sdk';
import { shortText } from './show.ts';

interface Entry {
  readonly source: string;
  readonly obj: KubeObject;
  readonly origin?: ObjectOrigin;
}

interface Rejected {
  readonly kind: string;
  readonly source: string;
  readonly namespace: string;
  readonly name: string;
  readonly reason: string;
  readonly origin?: ObjectOrigin;
}

/** A plugin kind's object as `/debug/policies` lists it. */
export interface PluginPolicyStatus {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly status: 'accepted' | 'invalid';
  readonly reason?: string;
  readonly source: string;
  readonly file?: string;
  readonly line?: number;
}

const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const kindId = (apiVersion: unknown, kind: unknown): string => `${String(apiVersion)}/${String(kind)}`;

/**
 * Objects of the policy kinds plugins contribute (`extensionPoints.policyKinds`): validated by their kind's
 * validator, kept per source, an invalid update keeping the last good version, and readable by plugins through
 * `coreServices.policies`. Kinds are read when an object arrives, so a kind contributed later applies from then
 * on (the graph starts policy-kind plugins before the sources).
 */
export class PluginPolicies implements PolicyObjects {
  readonly #kinds: () => readonly PolicyKind[];
  readonly #logger: Logger;
  readonly #accepted = new Map<string, Entry>();
  readonly #rejected = new Map<string, Rejected>();
  readonly #listeners = new Map<string, Set<(objs: readonly KubeObject[]) => void>>();

  constructor(kinds: () => readonly PolicyKind[], logger: Logger) {
    this.#kinds = kinds;
    this.#logger = logger;
  }

  kinds(): readonly PolicyKind[] {
    return this.#kinds();
  }

  /** The registered kind of `obj`, if a plugin contributed one. */
  kindOf(obj: { apiVersion?: unknown; kind?: unknown }): PolicyKind | undefined {
    const id = kindId(obj.apiVersion, obj.kind);
    return this.#kinds().find((k) => kindId(k.apiVersion, k.kind) === id);
  }

  /** Validates and stores `obj` (whose kind `kindOf` found). */
  apply(source: string, kind: PolicyKind, obj: KubeObject, origin?: ObjectOrigin): void {
    const meta = (typeof obj.metadata === 'object' && obj.metadata !== null ? obj.metadata : {}) as { name?: unknown; namespace?: unknown };
    const namespace = kind.namespaced ? (meta.namespace === undefined ? 'default' : meta.namespace) : undefined;
    const name = meta.name;
    const key = objectKeyString({ apiVersion: kind.apiVersion, kind: kind.kind, name: String(name), ...(typeof namespace === 'string' ? { namespace } : {}) });
    const reject = (reason: string) => {
      const prior = this.#rejected.get(key);
      this.#rejected.set(key, { kind: kind.kind, source, namespace: shortText(namespace ?? ''), name: shortText(name), reason, ...(origin ? { origin } : {}) });
      if (prior?.reason !== reason) this.#logger.warn('object rejected', { source, object: `${kind.kind}/${shortText(namespace ?? '')}/${shortText(name)}`, reason });
    };
    if (typeof name !== 'string' || !NAME.test(name)) return reject(`metadata.name: must be a DNS-1123 subdomain, got ${shortText(name)}`);
    if (namespace !== undefined && (typeof namespace !== 'string' || !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)))
      return reject(`metadata.namespace: must be a DNS-1123 label, got ${shortText(namespace)}`);
    if (!kind.namespaced && meta.namespace !== undefined) return reject(`metadata.namespace: ${kind.kind} is cluster-scoped`);
    let verdict;
    try {
      verdict = kind.validate(obj);
    } catch (err) {
      verdict = { ok: false as const, field: '', reason: `the ${kind.kind} validator threw: ${(err as Error).message}` };
    }
    if (!verdict.ok) return reject(verdict.field ? `${verdict.field}: ${verdict.reason}` : verdict.reason);
    this.#rejected.delete(key);
    const stored = namespace === undefined ? obj : { ...obj, metadata: { ...obj.metadata, namespace } };
    this.#accepted.set(key, { source, obj: stored, ...(origin ? { origin } : {}) });
    this.#notify(kind);
  }

  /** Removes `k` if this source holds it; returns whether `k` is of a plugin kind. */
  remove(source: string, k: ObjectKey): boolean {
    const kind = this.kindOf(k);
    if (!kind) return false;
    const key = objectKeyString(kind.namespaced && k.namespace === undefined ? { ...k, namespace: 'default' } : k);
    if (this.#rejected.get(key)?.source === source) this.#rejected.delete(key);
    if (this.#accepted.get(key)?.source === source) {
      this.#accepted.delete(key);
      this.#notify(kind);
    }
    return true;
  }

  /** Drops this source's objects that `keep` (keys of plugin-kind objects it still delivers) does not hold. */
  retain(source: string, keep: ReadonlySet<string>): void {
    const changed = new Set<PolicyKind>();
    for (const [key, e] of this.#accepted)
      if (e.source === source && !keep.has(key)) {
        this.#accepted.delete(key);
        const kind = this.kindOf(e.obj);
        if (kind) changed.add(kind);
      }
    for (const [key, r] of this.#rejected) if (r.source === source && !keep.has(key)) this.#rejected.delete(key);
    for (const kind of changed) this.#notify(kind);
  }

  /** The key `apply` stores `obj` under. */
  keyOf(kind: PolicyKind, obj: KubeObject): string {
    const ns = kind.namespaced ? (obj.metadata?.namespace ?? 'default') : undefined;
    return objectKeyString({ apiVersion: kind.apiVersion, kind: kind.kind, name: String(obj.metadata?.name), ...(ns !== undefined ? { namespace: ns } : {}) });
  }

  list(apiVersion: string, kind: string): readonly KubeObject[] {
    const id = kindId(apiVersion, kind);
    return [...this.#accepted.values()].filter((e) => kindId(e.obj.apiVersion, e.obj.kind) === id).map((e) => e.obj);
  }

  onChange(apiVersion: string, kind: string, handler: (objs: readonly KubeObject[]) => void): () => void {
    const id = kindId(apiVersion, kind);
    const set = this.#listeners.get(id) ?? new Set();
    set.add(handler);
    this.#listeners.set(id, set);
    return () => void set.delete(handler);
  }

  statuses(): PluginPolicyStatus[] {
    const origin = (o: ObjectOrigin | undefined) => ({ ...(o?.file !== undefined ? { file: o.file } : {}), ...(o?.line !== undefined ? { line: o.line } : {}) });
    const out: PluginPolicyStatus[] = [];
    for (const [key, r] of this.#rejected) {
      const kept = this.#accepted.has(key);
      out.push({ kind: r.kind, namespace: r.namespace, name: r.name, status: 'invalid', reason: kept ? `${r.reason} (keeping the last good version)` : r.reason, source: r.source, ...origin(r.origin) });
    }
    for (const [key, e] of this.#accepted)
      if (!this.#rejected.has(key)) out.push({ kind: String(e.obj.kind), namespace: e.obj.metadata.namespace ?? '', name: e.obj.metadata.name, status: 'accepted', source: e.source, ...origin(e.origin) });
    return out;
  }

  #notify(kind: PolicyKind): void {
    const set = this.#listeners.get(kindId(kind.apiVersion, kind.kind));
    if (!set?.size) return;
    const objs = this.list(kind.apiVersion, kind.kind);
    for (const h of set) {
      try {
        h(objs);
      } catch (err) {
        this.#logger.error('policy listener failed', { kind: kind.kind, err: (err as Error).message });
      }
    }
  }
}
