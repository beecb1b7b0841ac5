/**
 * Catalog: pure SMI policy over the mesh store. `viewFor` answers what one identity may reach and who may
 * reach it; views are cached per identity and only the identities a change affects are recomputed.
 */
import { identityKey } from '@trellis/plugin-sdk';
import type { Identity, ProxyView } from '@trellis/plugin-sdk';
import { podServiceAccount } from '../store/index.ts';
import type { MeshConfigSettings, MeshStore, StoreChange, TrafficSplitObj, TrafficTargetObj } from '../store/index.ts';
import { MeshSettingsService } from '../settings/index.ts';
import { computeAffected, touchedServices } from './affected.ts';
import type { Affected } from './affected.ts';
import { buildGammaIndex } from './gamma.ts';
import type { GammaIndex } from './gamma.ts';
import { buildServiceModel, sortIdentities } from './model.ts';
import type { ServiceModel } from './model.ts';
import { computeView, isActiveTarget } from './views.ts';
import type { ViewIndexes } from './views.ts';

const WORKLOAD_KINDS = new Set(['Service', 'Pod', 'EndpointSlice', 'Endpoints']);

export class Catalog {
  private readonly views = new Map<string, ProxyView>();
  private readonly affectedByChange = new WeakMap<StoreChange, Affected>();
  private models: { services: Map<string, ServiceModel>; servicesOf: Map<string, string[]> } | undefined;
  private targets: { bySource: Map<string, TrafficTargetObj[]>; byDestination: Map<string, TrafficTargetObj[]> } | undefined;
  private splits: Map<string, TrafficSplitObj> | undefined;
  private gamma: GammaIndex | undefined;
  private readonly unsubscribe: () => void;
  /** Views computed (not served from cache) since construction: a figure for tests and benchmarks. */
  computed = 0;

  private readonly ownsSettings: boolean;
  /** The mesh-wide settings views read (trust domain, permissive, egress); the controller passes its own. */
  readonly meshSettings: MeshSettingsService;

  constructor(
    private readonly store: MeshStore,
    meshSettings?: MeshSettingsService,
  ) {
    this.ownsSettings = meshSettings === undefined;
    this.meshSettings = meshSettings ?? new MeshSettingsService(store);
    this.unsubscribe = store.onChange((c) => this.onChange(c));
  }

  dispose(): void {
    this.unsubscribe();
    if (this.ownsSettings) this.meshSettings.dispose();
  }

  settings(): MeshConfigSettings {
    return this.meshSettings.current();
  }

  /** Trust domain in effect: the MeshConfig's, else the config file's (default `cluster.local`). */
  trustDomain(): string {
    return this.settings().trustDomain;
  }

  /** Every identity that has pods or a ServiceAccount, sorted by key. */
  identities(): Identity[] {
    const ids: Identity[] = this.store.list('ServiceAccount').map((sa) => ({ namespace: sa.metadata.namespace, serviceAccount: sa.metadata.name }));
    for (const p of this.store.list('Pod')) ids.push({ namespace: p.metadata.namespace, serviceAccount: podServiceAccount(p) });
    return sortIdentities(ids);
  }

  viewFor(identity: Identity): ProxyView {
    const key = identityKey(identity);
    const cached = this.views.get(key);
    if (cached) return cached;
    const view = computeView(this.indexes(), identity);
    this.computed++;
    this.views.set(key, view);
    return view;
  }

  /** The service model of `ns/name` (ports, endpoints, identities behind it), as views use it. */
  service(key: string): ServiceModel | undefined {
    return this.indexes().services.get(key);
  }

  /** `ns/name` of the services `identity` is behind. */
  servicesOf(identity: Identity): readonly string[] {
    return this.indexes().servicesOf.get(identityKey(identity)) ?? [];
  }

  /**
   * The identities (`identityKey`) whose views `change` alters, or 'all'. For a change the store emitted, the
   * answer computed when it happened is returned (later changes do not blur it).
   */
  affected(change: StoreChange): Set<string> | 'all' {
    return this.affectedByChange.get(change) ?? computeAffected(this.store, this.meshSettings, change);
  }

  private onChange(change: StoreChange): void {
    const affected = computeAffected(this.store, this.meshSettings, change);
    this.affectedByChange.set(change, affected);
    if (WORKLOAD_KINDS.has(change.kind) && this.models) this.updateModels(touchedServices(this.store, change));
    if (change.kind === 'TrafficTarget') this.targets = undefined;
    if (change.kind === 'TrafficSplit') this.splits = undefined;
    if (change.kind === 'HTTPRoute' || change.kind === 'GRPCRoute') this.gamma = undefined;
    if (affected === 'all') this.views.clear();
    else for (const k of affected) this.views.delete(k);
  }

  /** Rebuilds only the touched services' models and their entries in the identity -> services index. */
  private updateModels(keys: ReadonlySet<string>): void {
    const models = this.models;
    if (!models) return;
    for (const k of keys) {
      const old = models.services.get(k);
      for (const id of old?.identities ?? []) {
        const ik = identityKey(id);
        const rest = (models.servicesOf.get(ik) ?? []).filter((x) => x !== k);
        if (rest.length) models.servicesOf.set(ik, rest);
        else models.servicesOf.delete(ik);
      }
      models.services.delete(k);
      const slash = k.indexOf('/');
      const svc = this.store.get('Service', k.slice(0, slash), k.slice(slash + 1));
      if (!svc) continue;
      const m = buildServiceModel(this.store, svc);
      models.services.set(k, m);
      for (const id of m.identities) {
        const ik = identityKey(id);
        const l = models.servicesOf.get(ik);
        if (l) l.push(k);
        else models.servicesOf.set(ik, [k]);
      }
    }
  }

  private indexes(): ViewIndexes {
    if (!this.models) {
      const services = new Map<string, ServiceModel>();
      const servicesOf = new Map<string, string[]>();
      for (const svc of this.store.list('Service')) {
        const k = `${svc.metadata.namespace}/${svc.metadata.name}`;
        const m = buildServiceModel(this.store, svc);
        services.set(k, m);
        for (const id of m.identities) {
          const ik = identityKey(id);
          const l = servicesOf.get(ik);
          if (l) l.push(k);
          else servicesOf.set(ik, [k]);
        }
      }
      this.models = { services, servicesOf };
    }
    if (!this.targets) {
      const bySource = new Map<string, TrafficTargetObj[]>();
      const byDestination = new Map<string, TrafficTargetObj[]>();
      const push = (m: Map<string, TrafficTargetObj[]>, k: string, tt: TrafficTargetObj): void => {
        const l = m.get(k);
        if (l) {
          if (!l.includes(tt)) l.push(tt);
        } else m.set(k, [tt]);
      };
      const all = this.store.list('TrafficTarget').filter(isActiveTarget);
      all.sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
      for (const tt of all) {
        push(byDestination, identityKey({ namespace: tt.spec.destination.namespace, serviceAccount: tt.spec.destination.name }), tt);
        for (const s of tt.spec.sources) push(bySource, identityKey({ namespace: s.namespace, serviceAccount: s.name }), tt);
      }
      this.targets = { bySource, byDestination };
    }
    if (!this.splits) {
      this.splits = new Map();
      for (const sp of this.store.list('TrafficSplit')) {
        const root = `${sp.metadata.namespace}/${sp.spec.service}`;
        if (!this.splits.has(root)) this.splits.set(root, this.store.splitFor(sp.metadata.namespace, sp.spec.service) ?? sp);
      }
    }
    this.gamma ??= buildGammaIndex(this.store);
    return {
      store: this.store,
      gamma: this.gamma,
      splitsByRoot: this.splits,
      settings: this.settings(),
      services: this.models.services,
      servicesOf: this.models.servicesOf,
      targetsBySource: this.targets.bySource,
      targetsByDestination: this.targets.byDestination,
    };
  }
}
