import { describe, expect, it } from 'vitest';
import { meshConfig } from '../catalog/test-builders.ts';
import { MeshStore } from './mesh-store.ts';
import { fakeDeps } from './test-fakes.ts';

describe('mesh settings defaults', () => {
  it("uses the config file's defaults until a MeshConfig overrides them", () => {
    const store = new MeshStore({ ...fakeDeps(), defaults: { trustDomain: 'example.org', serviceCertValidityMs: 3_600_000 } });
    expect(store.meshSettings()).toMatchObject({ trustDomain: 'example.org', serviceCertValidityMs: 3_600_000, permissive: false });
    store.sinkFor('test').apply(meshConfig({ traffic: { enablePermissiveTrafficPolicyMode: true } }));
    expect(store.meshSettings()).toMatchObject({ trustDomain: 'example.org', serviceCertValidityMs: 3_600_000, permissive: true });
    store.sinkFor('test').apply(meshConfig({ certificate: { trustDomain: 'mesh.local', serviceCertValidityDuration: '2h' } }));
    expect(store.meshSettings()).toMatchObject({ trustDomain: 'mesh.local', serviceCertValidityMs: 7_200_000, permissive: false });
  });
});
