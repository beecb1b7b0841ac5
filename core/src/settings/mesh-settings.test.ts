import { describe, expect, it } from 'vitest';
import { identityKey, keyOf } from '@trellis/plugin-sdk';
import { Catalog } from '../catalog/index.ts';
import { meshConfig, target, workload } from '../catalog/test-builders.ts';
import { MeshStore } from '../store/index.ts';
import type { StoreChange } from '../store/index.ts';
import { fakeDeps } from '../store/test-fakes.ts';
import { MeshSettingsService } from './mesh-settings.ts';
import type { MeshSettingsChange } from './mesh-settings.ts';

const setup = (defaults: { trustDomain?: string; serviceCertValidityMs?: number } = {}) => {
  const store = new MeshStore(fakeDeps());
  const settings = new MeshSettingsService(store, { name: 'm', defaults });
  return { store, settings, sink: store.sinkFor('test') };
};

describe('mesh settings', () => {
  it("uses the config file's defaults until a MeshConfig overrides them", () => {
    const { settings, sink } = setup({ trustDomain: 'example.org', serviceCertValidityMs: 3_600_000 });
    expect(settings.current()).toMatchObject({ trustDomain: 'example.org', serviceCertValidityMs: 3_600_000, permissive: false });
    sink.apply(meshConfig({ traffic: { enablePermissiveTrafficPolicyMode: true } }));
    expect(settings.current()).toMatchObject({ trustDomain: 'example.org', serviceCertValidityMs: 3_600_000, permissive: true });
    sink.apply(meshConfig({ certificate: { trustDomain: 'mesh.local', serviceCertValidityDuration: '2h' } }));
    expect(settings.current()).toMatchObject({ trustDomain: 'mesh.local', serviceCertValidityMs: 7_200_000, permissive: false });
  });

  it('notifies each change of the settings in effect, once, and says when the trust domain changed', () => {
    const { settings, sink } = setup({ trustDomain: 'example.org' });
    const seen: MeshSettingsChange[] = [];
    settings.onChange((c) => seen.push(c));
    sink.apply(meshConfig({ certificate: { trustDomain: 'example.org' } })); // restates the default: no change
    sink.apply(meshConfig({ certificate: { trustDomain: 'cluster.local' } }));
    sink.apply(meshConfig({ certificate: { trustDomain: 'cluster.local', serviceCertValidityDuration: '1h' } }));
    sink.delete(keyOf(meshConfig({})));
    expect(seen.map((c) => [c.before.trustDomain, c.after.trustDomain, c.trustDomainChanged])).toEqual([
      ['example.org', 'cluster.local', true],
      ['cluster.local', 'cluster.local', false],
      ['cluster.local', 'example.org', true],
    ]);
    expect(settings.trustDomains()).toEqual(['example.org', 'cluster.local']);
  });

  it('gives plugins a live read of the trust domain', () => {
    const { settings, sink } = setup({ trustDomain: 'example.org' });
    const forPlugins = settings.forPlugins();
    expect(forPlugins).toMatchObject({ name: 'm', trustDomain: 'example.org' });
    sink.apply(meshConfig({ certificate: { trustDomain: 'cluster.local' } }));
    expect(forPlugins.trustDomain).toBe('cluster.local');
  });

  // The case: the config file says example.org, a MeshConfig says cluster.local (OSM's default). The
  // affected set used to be computed against OSM's defaults, found "no change" and left every cached view on
  // example.org.
  it('config example.org + MeshConfig cluster.local: every view is affected and recomputed with cluster.local', () => {
    const { store, settings, sink } = setup({ trustDomain: 'example.org' });
    for (const o of [...workload('t', 'a', '10.0.0.1'), ...workload('t', 'b', '10.0.0.2')]) sink.apply(o);
    sink.apply(target('t', 'a-to-b', 'b', [['t', 'a']], [{ kind: 'TCPRoute', name: 'any' }]));
    const catalog = new Catalog(store, settings);
    const a = { namespace: 't', serviceAccount: 'a' };
    const b = { namespace: 't', serviceAccount: 'b' };
    expect(catalog.viewFor(a).trustDomain).toBe('example.org');
    expect(catalog.viewFor(b).trustDomain).toBe('example.org');
    const emitted: StoreChange[] = [];
    store.onChange((c) => emitted.push(c));
    sink.apply(meshConfig({ certificate: { trustDomain: 'cluster.local' } }));
    expect(emitted.map((c) => catalog.affected(c))).toEqual(['all']);
    expect(catalog.viewFor(a).trustDomain).toBe('cluster.local');
    expect(catalog.viewFor(b).trustDomain).toBe('cluster.local');
    expect(catalog.trustDomain()).toBe('cluster.local');
    // Restating the same domain afterwards affects nobody; removing the MeshConfig goes back to example.org.
    emitted.length = 0;
    sink.apply(meshConfig({ certificate: { trustDomain: 'cluster.local' }, traffic: { enableEgress: true } }));
    expect(emitted.map((c) => catalog.affected(c))).toEqual([new Set()]);
    emitted.length = 0;
    sink.delete(keyOf(meshConfig({})));
    expect(emitted.map((c) => catalog.affected(c))).toEqual(['all']);
    expect(catalog.viewFor(b).trustDomain).toBe('example.org');
    expect(identityKey(catalog.viewFor(b).identity)).toBe('t/b');
  });
});
