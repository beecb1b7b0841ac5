/**
 * The one owner of the mesh-wide settings: the config file's defaults (`mesh.trustDomain`,
 * `certificates.validity`) merged with the MeshConfig in effect. Views (principals, SAN matchers), the
 * certificate manager, the xDS identity check and plugins (`ctx.mesh`) all read it, so they can never disagree
 * about the trust domain.
 */
import type { KubeObject, MeshSettings } from '@trellis/plugin-sdk';
import { DEFAULT_MESH_SETTINGS, meshConfigSettings, pickMeshConfig } from '../store/index.ts';
import type { MeshConfigSettings, MeshStore, StoreChange } from '../store/index.ts';

export interface MeshSettingsChange {
  readonly before: MeshConfigSettings;
  readonly after: MeshConfigSettings;
  /** A mesh-wide change: every view, and every workload certificate, names the trust domain. */
  readonly trustDomainChanged: boolean;
}

export interface MeshSettingsOptions {
  /** `mesh.name` of the config file (plugins see it as `ctx.mesh.name`). */
  readonly name?: string;
  /** The config file's values, in effect where no MeshConfig says otherwise. */
  readonly defaults?: Partial<MeshConfigSettings>;
}

export class MeshSettingsService {
  readonly name: string;
  /** Config-file defaults over OSM's. */
  readonly defaults: MeshConfigSettings;
  readonly #store: MeshStore;
  readonly #listeners = new Set<(c: MeshSettingsChange) => void>();
  readonly #trustDomains = new Set<string>();
  readonly #unsubscribe: () => void;
  #memo: { obj: KubeObject | undefined; settings: MeshConfigSettings } | undefined;
  #last: MeshConfigSettings;

  constructor(store: MeshStore, opts: MeshSettingsOptions = {}) {
    this.#store = store;
    this.name = opts.name ?? 'trellis';
    this.defaults = { ...DEFAULT_MESH_SETTINGS, ...opts.defaults };
    this.#last = this.current();
    this.#trustDomains.add(this.#last.trustDomain);
    this.#unsubscribe = store.onChange((c) => this.#onStoreChange(c));
  }

  dispose(): void {
    this.#unsubscribe();
    this.#listeners.clear();
  }

  /** The settings in effect now (always the store's current MeshConfig over the defaults). */
  current(): MeshConfigSettings {
    const obj = pickMeshConfig(this.#store.list('MeshConfig'));
    if (!this.#memo || this.#memo.obj !== obj) this.#memo = { obj, settings: this.of(obj ? [obj] : []) };
    return this.#memo.settings;
  }

  trustDomain(): string {
    return this.current().trustDomain;
  }

  /** Every trust domain in effect since this controller started, the current one included. */
  trustDomains(): readonly string[] {
    return [...this.#trustDomains];
  }

  /** The settings in effect if the store held exactly these (accepted) MeshConfigs. */
  of(meshConfigs: readonly KubeObject[]): MeshConfigSettings {
    const o = pickMeshConfig(meshConfigs);
    return o ? meshConfigSettings(o, this.defaults) : this.defaults;
  }

  /** The settings in effect just before `change` (called while the store holds the state after it). */
  before(change: StoreChange): MeshConfigSettings {
    if (change.kind !== 'MeshConfig') return this.current();
    const others = this.#store.list('MeshConfig').filter((o) => o !== change.new);
    return this.of(change.old ? [...others, change.old] : others);
  }

  /** Called after a MeshConfig change alters the settings in effect; returns an unsubscribe function. */
  onChange(listener: (c: MeshSettingsChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** What plugins get as `ctx.mesh`: a live read, so a MeshConfig's trust domain shows at once. */
  forPlugins(): MeshSettings {
    const trustDomain = (): string => this.trustDomain();
    return {
      name: this.name,
      get trustDomain() {
        return trustDomain();
      },
    };
  }

  #onStoreChange(change: StoreChange): void {
    if (change.kind !== 'MeshConfig') return;
    const before = this.#last;
    const after = this.current();
    if (sameSettings(before, after)) return;
    this.#last = after;
    this.#trustDomains.add(after.trustDomain);
    const c: MeshSettingsChange = { before, after, trustDomainChanged: before.trustDomain !== after.trustDomain };
    for (const l of [...this.#listeners]) l(c);
  }
}

function sameSettings(a: MeshConfigSettings, b: MeshConfigSettings): boolean {
  return (
    a.permissive === b.permissive &&
    a.egress === b.egress &&
    a.trustDomain === b.trustDomain &&
    a.serviceCertValidityMs === b.serviceCertValidityMs &&
    a.certKeyBitSize === b.certKeyBitSize &&
    JSON.stringify(a.telemetry) === JSON.stringify(b.telemetry)
  );
}

/** The controller's settings service: the config file's `mesh.name`, `mesh.trustDomain` and `certificates.validity` as defaults. */
export function meshSettingsFor(config: { settings: { mesh: { name: string; trustDomain: string }; certificates: { validity: number } } }, store: MeshStore): MeshSettingsService {
  return new MeshSettingsService(store, {
    name: config.settings.mesh.name,
    defaults: { trustDomain: config.settings.mesh.trustDomain, serviceCertValidityMs: config.settings.certificates.validity },
  });
}
