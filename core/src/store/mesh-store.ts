/**
 * MeshStore: the validated, indexed objects of every source. Each source writes through its own sink; the
 * effective version of an object is the most recent good one any source holds. Invalid updates keep the last
 * good version and are reported (log once, metrics, `policyStatuses()` / `sourceErrors()`).
 */
import { keyOf, objectKeyString } from '@trellis/plugin-sdk';
import type { EventBus, KubeObject, Logger, Metrics, ObjectKey, ObjectOrigin, PolicyKind, SourceError, SourceSink, Gauge, Counter } from '@trellis/plugin-sdk';
import { deepEqual } from './equal.ts';
import { meshChanged } from './events.ts';
import type { IgnoredObject, PolicyStatus, StoreChange } from './events.ts';
import { POLICY_GROUPS, POLICY_KINDS, podIPs, podServiceAccount } from './kinds.ts';
import type { EndpointSliceObj, GatewayRouteObj, KindMap, MeshKind, PodObj, ServiceObj, TrafficSplitObj, TrafficTargetObj } from './kinds.ts';
import { policyNotes } from './policy-validate.ts';
import { splitReferenceProblems, targetReferenceProblems } from './references.ts';
import { routeParentStatuses } from './route-status.ts';
import { shortText, text } from './show.ts';
import { kindOf, validateObject } from './validate.ts';
import { PluginPolicies } from './plugin-policies.ts';

export interface MeshStoreDeps {
  readonly bus: EventBus;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** The policy kinds plugins contribute, read as objects arrive (objects of other unknown kinds are ignored). */
  readonly policyKinds?: () => readonly PolicyKind[];
}

interface Layer {
  readonly source: string;
  readonly obj: KubeObject;
  readonly origin?: ObjectOrigin;
  readonly status: 'accepted' | 'ignored';
  readonly reason?: string;
}

interface Rejection {
  readonly key: string;
  readonly source: string;
  readonly kind: MeshKind;
  readonly namespace: string;
  readonly name: string;
  readonly reason: string;
  readonly origin?: ObjectOrigin;
}

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

function addTo<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  let s = m.get(k);
  if (!s) m.set(k, (s = new Set()));
  s.add(v);
}
function removeFrom<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  const s = m.get(k);
  if (s?.delete(v) && s.size === 0) m.delete(k);
}

export class MeshStore {
  private readonly bus: EventBus;
  private readonly logger: Logger;
  private readonly layers = new Map<string, Layer[]>();
  private readonly rejections = new Map<string, Rejection>();
  private readonly ignored = new Map<string, IgnoredObject>();
  private readonly sourceKeys = new Map<string, Set<string>>();
  private readonly errors = new Map<string, SourceError[]>();
  private readonly listeners = new Set<(c: StoreChange) => void>();
  // Indexes over effective objects.
  private readonly byKind = new Map<MeshKind, Map<string, KubeObject>>();
  private readonly byKindNs = new Map<string, Map<string, KubeObject>>();
  private readonly podsBySA = new Map<string, Set<string>>();
  private readonly podsByIP = new Map<string, Set<string>>();
  private readonly slicesByService = new Map<string, Set<string>>();
  private readonly sliceKeysByPod = new Map<string, Set<string>>();
  private readonly sliceKeysByIP = new Map<string, Set<string>>();
  private readonly sourceErrorsTotal: Counter;
  private readonly policyGauge: Gauge;
  private readonly objectsGauge: Gauge;
  /** Monotonic: bumps on every effective change (a cheap cache key). */
  private generationValue = 0;
  /** Objects of the policy kinds plugins contribute (also `coreServices.policies`). */
  readonly plugins: PluginPolicies;

  constructor(deps: MeshStoreDeps) {
    this.bus = deps.bus;
    this.logger = deps.logger.child({ component: 'store' });
    this.plugins = new PluginPolicies(deps.policyKinds ?? (() => []), this.logger);
    this.sourceErrorsTotal = deps.metrics.counter({
      name: 'trellis_source_errors_total',
      help: 'Problems sources reported: unparsable documents, unreadable files, invalid objects.',
      labelNames: ['source'],
    });
    this.policyGauge = deps.metrics.gauge({
      name: 'trellis_policy_objects',
      help: 'SMI and MeshConfig objects by kind and status (accepted, ignored, invalid).',
      labelNames: ['kind', 'status'],
      collect: () => this.collectPolicyGauge(),
    });
    this.objectsGauge = deps.metrics.gauge({
      name: 'trellis_store_objects',
      help: 'Objects in the mesh store by kind.',
      labelNames: ['kind'],
      collect: () => {
        for (const [kind, m] of this.byKind) this.objectsGauge.set(m.size, { kind });
      },
    });
  }

  get generation(): number {
    return this.generationValue;
  }

  /** The sink a source writes through; everything it writes is tagged with `sourceName`. */
  sinkFor(sourceName: string): SourceSink {
    return {
      apply: (obj, origin) => this.apply(sourceName, obj, origin),
      delete: (key, origin) => this.remove(sourceName, key, origin),
      replaceAll: (objects) => this.replaceAll(sourceName, objects),
      reportError: (err) => this.reportError(sourceName, err),
      clearErrors: (file) => this.clearErrors(sourceName, file),
    };
  }

  /** Synchronous change listener (the catalog invalidates its caches here, before the bus event). */
  onChange(listener: (c: StoreChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- reads ----

  get<K extends MeshKind>(kind: K, namespace: string | undefined, name: string): KindMap[K] | undefined {
    const m = this.byKind.get(kind);
    if (!m) return undefined;
    for (const group of groupsOf(kind)) {
      const o = m.get(`${group}/${kind}/${namespace ?? ''}/${name}`);
      if (o) return o as KindMap[K];
    }
    return undefined;
  }

  list<K extends MeshKind>(kind: K, namespace?: string): KindMap[K][] {
    const m = namespace === undefined ? this.byKind.get(kind) : this.byKindNs.get(`${kind}/${namespace}`);
    return m ? ([...m.values()] as KindMap[K][]) : [];
  }

  /** Every HTTPRoute / GRPCRoute the store holds (accepted or ignored) and the source it came from. */
  routeLayers(): { obj: GatewayRouteObj; source: string }[] {
    const out: { obj: GatewayRouteObj; source: string }[] = [];
    for (const ls of this.layers.values()) {
      const layer = ls.at(-1);
      const kind = layer && kindOf(layer.obj);
      if (layer && (kind === 'HTTPRoute' || kind === 'GRPCRoute')) out.push({ obj: layer.obj as GatewayRouteObj, source: layer.source });
    }
    return out;
  }

  podsOfServiceAccount(namespace: string, serviceAccount: string): PodObj[] {
    return this.resolve<PodObj>('Pod', this.podsBySA.get(`${namespace}/${serviceAccount}`));
  }

  podsWithIP(ip: string): PodObj[] {
    return this.resolve<PodObj>('Pod', this.podsByIP.get(ip));
  }

  slicesOfService(namespace: string, service: string): EndpointSliceObj[] {
    return this.resolve<EndpointSliceObj>('EndpointSlice', this.slicesByService.get(`${namespace}/${service}`));
  }

  /** EndpointSlices whose endpoints reference the pod (by targetRef) or one of `ips`. */
  slicesReferencing(namespace: string, podName: string, ips: readonly string[]): EndpointSliceObj[] {
    const keys = new Set(this.sliceKeysByPod.get(`${namespace}/${podName}`) ?? []);
    for (const ip of ips) for (const k of this.sliceKeysByIP.get(ip) ?? []) keys.add(k);
    return this.resolve<EndpointSliceObj>('EndpointSlice', keys);
  }

  /** Services of the pod's namespace whose selector matches its labels. */
  servicesSelecting(pod: PodObj): ServiceObj[] {
    const labels = pod.metadata.labels ?? {};
    return this.list('Service', pod.metadata.namespace).filter((s) => selects(s, labels));
  }

  /** The TrafficSplit in effect for a root service: the first by name when several split it. */
  splitFor(namespace: string, rootService: string): TrafficSplitObj | undefined {
    let best: TrafficSplitObj | undefined;
    for (const s of this.list('TrafficSplit', namespace))
      if (s.spec.service === rootService && (!best || s.metadata.name < best.metadata.name)) best = s;
    return best;
  }

  /** The MeshConfig in effect (the first by namespace/name when several exist), or undefined. */
  meshConfigObject(): KubeObject | undefined {
    return pickMeshConfig(this.list('MeshConfig'));
  }

  /** One entry per SMI / MeshConfig object, sorted by kind, namespace, name. */
  policyStatuses(): PolicyStatus[] {
    const out: PolicyStatus[] = [];
    const mc = this.meshConfigObject();
    for (const key of new Set([...this.layers.keys(), ...this.rejections.keys()])) {
      const rej = this.rejections.get(key);
      const layer = this.effective(key);
      if (rej) {
        if (!POLICY_KINDS.has(rej.kind)) continue;
        out.push({
          kind: rej.kind,
          namespace: rej.namespace,
          name: rej.name,
          status: 'invalid',
          reason: layer ? `${rej.reason} (keeping the last good version)` : rej.reason,
          source: rej.source,
          ...originFields(rej.origin),
        });
        continue;
      }
      if (!layer) continue;
      const kind = kindOf(layer.obj);
      if (!kind || !POLICY_KINDS.has(kind)) continue;
      const base = { kind, namespace: layer.obj.metadata.namespace ?? '', name: layer.obj.metadata.name, source: layer.source, ...originFields(layer.origin) };
      let status = layer.status;
      let reason = layer.reason;
      if (status === 'accepted' && kind === 'MeshConfig' && mc && mc !== layer.obj) {
        status = 'ignored';
        reason = `another MeshConfig (${mc.metadata.namespace ?? ''}/${mc.metadata.name}) is in effect; only one is used`;
      }
      if (status === 'accepted' && kind === 'TrafficSplit') {
        const split = layer.obj as TrafficSplitObj;
        const winner = this.splitFor(split.metadata.namespace, split.spec.service);
        if (winner && winner !== split) {
          status = 'ignored';
          reason = `spec.service: TrafficSplit ${winner.metadata.namespace}/${winner.metadata.name} already splits service "${split.spec.service}"`;
        }
      }
      if (status === 'accepted' && reason === undefined) {
        const lookup = <K extends MeshKind>(k: K, ns: string, name: string) => this.get(k, ns, name);
        const problems =
          kind === 'TrafficTarget'
            ? targetReferenceProblems(layer.obj as TrafficTargetObj, lookup)
            : kind === 'TrafficSplit'
              ? splitReferenceProblems(layer.obj as TrafficSplitObj, lookup)
              : policyNotes(kind, layer.obj);
        if (problems.length) reason = problems.join('; ');
      }
      if (kind === 'HTTPRoute' || kind === 'GRPCRoute') {
        const parents = routeParentStatuses(layer.obj as GatewayRouteObj, (k, ns, name) => this.get(k, ns, name));
        out.push(reason === undefined ? { ...base, status, parents } : { ...base, status, reason, parents });
        continue;
      }
      out.push(reason === undefined ? { ...base, status } : { ...base, status, reason });
    }
    out.push(...this.plugins.statuses());
    return out.sort((a, b) => a.kind.localeCompare(b.kind) || a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  }

  /** Source problems, plus rejected objects of non-policy kinds (policy kinds are in `policyStatuses()`). */
  sourceErrors(): SourceError[] {
    const out = [...this.errors.values()].flat();
    for (const r of this.rejections.values())
      if (!POLICY_KINDS.has(r.kind))
        out.push({
          source: r.source,
          ...originFields(r.origin),
          message: `${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}: ${r.reason}${this.layers.has(r.key) ? ' (keeping the last good version)' : ''}`,
        });
    return out;
  }

  /** Objects of unknown kinds that sources delivered, ignored. */
  ignoredObjects(): IgnoredObject[] {
    return [...this.ignored.values()];
  }

  // ---- writes ----

  private apply(source: string, input: KubeObject, origin?: ObjectOrigin): void {
    const v = validateObject(input);
    const rawKey = safeKey(input);
    if (v.outcome === 'unknown') {
      if (typeof input !== 'object' || input === null) {
        this.reportError(source, { message: `${v.reason} (${shortText(input, 80)})`, ...originFields(origin) });
        return;
      }
      const pluginKind = this.plugins.kindOf(input);
      if (pluginKind) {
        this.ignored.delete(`${source}|${rawKey}`);
        this.plugins.apply(source, pluginKind, input, origin);
        return;
      }
      if (!this.ignored.has(`${source}|${rawKey}`)) this.logger.debug('ignoring object of unknown kind', { source, object: rawKey, reason: v.reason });
      this.ignored.set(`${source}|${rawKey}`, {
        apiVersion: shortText(input.apiVersion),
        kind: shortText(input.kind),
        ...(typeof input.metadata?.namespace === 'string' && { namespace: shortText(input.metadata.namespace) }),
        name: shortText(input.metadata?.name),
        reason: v.reason,
        source,
      });
      return;
    }
    const ns = NAMESPACED_DEFAULT(v.kind, input);
    const key = objectKeyString({ apiVersion: input.apiVersion, kind: input.kind, name: text(input.metadata?.name), ...(ns !== undefined && { namespace: ns }) });
    if (v.outcome === 'invalid') {
      const prev = this.rejections.get(key);
      const rej: Rejection = { key, source, kind: v.kind, namespace: shortText(ns ?? ''), name: shortText(input.metadata?.name), reason: v.reason, ...(origin && { origin }) };
      this.rejections.set(key, rej);
      if (prev?.reason !== v.reason) {
        this.sourceErrorsTotal.inc({ source });
        this.logger.warn('object rejected', { source, object: `${v.kind}/${rej.namespace}/${rej.name}`.replace('//', '/'), reason: v.reason, ...originFields(origin) });
      }
      return;
    }
    this.rejections.delete(key);
    addTo(this.sourceKeys, source, key);
    const stack = (this.layers.get(key) ?? []).filter((l) => l.source !== source);
    const before = stack.length ? this.effective(key) : this.effective(key);
    const layer: Layer = { source, obj: v.obj, status: v.outcome, ...(origin && { origin }), ...(v.reason !== undefined && { reason: v.reason }) };
    if (v.outcome === 'ignored' && this.effective(key)?.reason !== v.reason) this.logger.warn('object ignored', { source, object: key, reason: v.reason });
    stack.push(layer);
    this.layers.set(key, stack);
    this.commit(v.kind, key, before?.obj, v.obj);
  }

  private remove(source: string, k: ObjectKey, _origin?: ObjectOrigin): void {
    const kind = kindOf(k);
    const rawKey = objectKeyString(k);
    this.ignored.delete(`${source}|${rawKey}`);
    if (!kind) {
      this.plugins.remove(source, k);
      return;
    }
    const key = objectKeyString(k.namespace === undefined && NAMESPACED_DEFAULT(kind, { metadata: {} }) ? { ...k, namespace: 'default' } : k);
    if (this.rejections.get(key)?.source === source) this.rejections.delete(key);
    const stack = this.layers.get(key);
    removeFrom(this.sourceKeys, source, key);
    if (!stack) return;
    const before = this.effective(key);
    const rest = stack.filter((l) => l.source !== source);
    if (rest.length === stack.length) return;
    if (rest.length) this.layers.set(key, rest);
    else this.layers.delete(key);
    this.commit(kind, key, before?.obj, rest.at(-1)?.obj);
  }

  private replaceAll(source: string, objects: readonly { obj: KubeObject; origin?: ObjectOrigin }[]): void {
    const keep = new Set<string>();
    const keepPlugin = new Set<string>();
    for (const { obj } of objects) {
      const kind = kindOf(obj);
      const pluginKind = kind || typeof obj !== 'object' || obj === null ? undefined : this.plugins.kindOf(obj);
      if (pluginKind) keepPlugin.add(this.plugins.keyOf(pluginKind, obj));
      if (!kind) continue;
      const ns = NAMESPACED_DEFAULT(kind, obj);
      keep.add(objectKeyString({ apiVersion: obj.apiVersion, kind: obj.kind, name: text(obj.metadata?.name), ...(ns !== undefined && { namespace: ns }) }));
    }
    for (const key of [...(this.sourceKeys.get(source) ?? [])]) {
      if (keep.has(key)) continue;
      const layer = this.layers.get(key)?.find((l) => l.source === source);
      if (layer) this.remove(source, keyOf(layer.obj));
    }
    for (const [k, r] of this.rejections) if (r.source === source && !keep.has(k)) this.rejections.delete(k);
    for (const k of [...this.ignored.keys()]) if (k.startsWith(`${source}|`)) this.ignored.delete(k);
    this.plugins.retain(source, keepPlugin);
    for (const { obj, origin } of objects) this.apply(source, obj, origin);
  }

  private reportError(source: string, err: Omit<SourceError, 'source'>): void {
    const list = this.errors.get(source) ?? [];
    const full: SourceError = { source, ...err };
    if (list.some((e) => deepEqual(e, full))) return;
    list.push(full);
    this.errors.set(source, list);
    this.sourceErrorsTotal.inc({ source });
    this.logger.warn('source error', { ...full });
  }

  private clearErrors(source: string, file?: string): void {
    if (file === undefined) this.errors.delete(source);
    else this.errors.set(source, (this.errors.get(source) ?? []).filter((e) => e.file !== file));
    // Rejected objects are not errors of the file: they stay listed until the object is fixed or deleted.
  }

  private effective(key: string): Layer | undefined {
    return this.layers.get(key)?.at(-1);
  }

  private commit(kind: MeshKind, key: string, old: KubeObject | undefined, next: KubeObject | undefined): void {
    if (old === next || (old && next && deepEqual(old, next))) {
      // Same content: keep the newest object reference in the indexes without an event.
      if (old && next) this.index(kind, key, old, next);
      return;
    }
    this.index(kind, key, old, next);
    this.generationValue++;
    const change: StoreChange = { kind, key, ...(old && { old }), ...(next && { new: next }) };
    for (const l of this.listeners) {
      try {
        l(change);
      } catch (err) {
        this.logger.error('store change listener failed', { err: (err as Error).message });
      }
    }
    void this.bus.publish(meshChanged, change);
  }

  private index(kind: MeshKind, key: string, old: KubeObject | undefined, next: KubeObject | undefined): void {
    if (old) this.unindex(kind, key, old);
    if (!next) return;
    let m = this.byKind.get(kind);
    if (!m) this.byKind.set(kind, (m = new Map()));
    m.set(key, next);
    const nsKey = `${kind}/${next.metadata.namespace ?? ''}`;
    let n = this.byKindNs.get(nsKey);
    if (!n) this.byKindNs.set(nsKey, (n = new Map()));
    n.set(key, next);
    if (kind === 'Pod') {
      const pod = next as PodObj;
      addTo(this.podsBySA, `${pod.metadata.namespace}/${podServiceAccount(pod)}`, key);
      for (const ip of podIPs(pod)) addTo(this.podsByIP, ip, key);
    } else if (kind === 'EndpointSlice') {
      const s = next as EndpointSliceObj;
      const svc = s.metadata.labels?.[SERVICE_NAME_LABEL];
      if (svc) addTo(this.slicesByService, `${s.metadata.namespace}/${svc}`, key);
      for (const e of s.endpoints ?? []) {
        if (e.targetRef?.name) addTo(this.sliceKeysByPod, `${e.targetRef.namespace ?? s.metadata.namespace}/${e.targetRef.name}`, key);
        for (const ip of e.addresses) addTo(this.sliceKeysByIP, ip, key);
      }
    }
  }

  private unindex(kind: MeshKind, key: string, old: KubeObject): void {
    this.byKind.get(kind)?.delete(key);
    this.byKindNs.get(`${kind}/${old.metadata.namespace ?? ''}`)?.delete(key);
    if (kind === 'Pod') {
      const pod = old as PodObj;
      removeFrom(this.podsBySA, `${pod.metadata.namespace}/${podServiceAccount(pod)}`, key);
      for (const ip of podIPs(pod)) removeFrom(this.podsByIP, ip, key);
    } else if (kind === 'EndpointSlice') {
      const s = old as EndpointSliceObj;
      const svc = s.metadata.labels?.[SERVICE_NAME_LABEL];
      if (svc) removeFrom(this.slicesByService, `${s.metadata.namespace}/${svc}`, key);
      for (const e of s.endpoints ?? []) {
        if (e.targetRef?.name) removeFrom(this.sliceKeysByPod, `${e.targetRef.namespace ?? s.metadata.namespace}/${e.targetRef.name}`, key);
        for (const ip of e.addresses) removeFrom(this.sliceKeysByIP, ip, key);
      }
    }
  }

  private resolve<T>(kind: MeshKind, keys: Iterable<string> | undefined): T[] {
    const m = this.byKind.get(kind);
    const out: T[] = [];
    if (!m || !keys) return out;
    for (const k of keys) {
      const o = m.get(k);
      if (o) out.push(o as T);
    }
    return out;
  }

  private collectPolicyGauge(): void {
    const counts = new Map<string, number>();
    for (const kind of POLICY_KINDS) for (const st of ['accepted', 'ignored', 'invalid']) counts.set(`${kind}|${st}`, 0);
    for (const p of this.policyStatuses()) counts.set(`${p.kind}|${p.status}`, (counts.get(`${p.kind}|${p.status}`) ?? 0) + 1);
    for (const [k, n] of counts) {
      const [kind = '', status = ''] = k.split('|');
      this.policyGauge.set(n, { kind, status });
    }
  }
}

function groupsOf(kind: MeshKind): string[] {
  switch (kind) {
    case 'EndpointSlice':
      return ['discovery.k8s.io'];
    case 'TrafficTarget':
      return ['access.smi-spec.io'];
    case 'HTTPRouteGroup':
    case 'TCPRoute':
    case 'UDPRoute':
      return ['specs.smi-spec.io'];
    case 'TrafficSplit':
      return ['split.smi-spec.io'];
    case 'MeshConfig':
      return ['config.trellismesh.io', 'config.openservicemesh.io'];
    case 'HTTPRoute':
    case 'GRPCRoute':
      return ['gateway.networking.k8s.io'];
    case 'Retry':
    case 'UpstreamTrafficSetting':
    case 'IngressBackend':
    case 'Egress':
      return [...POLICY_GROUPS];
    default:
      return [''];
  }
}

/** The namespace an object is stored under (`default` for a namespaced object without one). */
function NAMESPACED_DEFAULT(kind: MeshKind, obj: { metadata?: { namespace?: unknown } }): string | undefined {
  const ns = obj.metadata?.namespace;
  if (typeof ns === 'string') return ns;
  return kind === 'Namespace' || kind === 'MeshConfig' ? undefined : 'default';
}

function safeKey(obj: KubeObject): string {
  if (typeof obj !== 'object' || obj === null) return shortText(obj, 80);
  return `${shortText(obj.apiVersion, 80)}/${shortText(obj.kind, 80)}/${shortText(obj.metadata?.namespace ?? '')}/${shortText(obj.metadata?.name)}`;
}

function originFields(o: ObjectOrigin | undefined): { file?: string; line?: number } {
  return { ...(o?.file !== undefined && { file: o.file }), ...(o?.line !== undefined && { line: o.line }) };
}

/** Whether a Service's selector matches `labels` (a Service without selector selects nothing). */
export function selects(svc: ServiceObj, labels: Record<string, string>): boolean {
  const sel = svc.spec.selector;
  if (!sel || Object.keys(sel).length === 0) return false;
  return Object.entries(sel).every(([k, v]) => labels[k] === v);
}

/** The MeshConfig in effect among `objs`: the first by `namespace/name`. */
export function pickMeshConfig(objs: readonly KubeObject[]): KubeObject | undefined {
  let best: KubeObject | undefined;
  let bestKey = '';
  for (const o of objs) {
    const k = `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    if (!best || k < bestKey) [best, bestKey] = [o, k];
  }
  return best;
}
