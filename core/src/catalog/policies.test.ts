import { describe, expect, it } from 'vitest';
import { identityKey } from '@trellis/plugin-sdk';
import type { KubeObject } from '@trellis/plugin-sdk';
import { MeshStore } from '../store/index.ts';
import type { StoreChange } from '../store/index.ts';
import { fakeDeps } from '../store/test-fakes.ts';
import { Catalog } from './catalog.ts';
import { slice, workload } from './test-builders.ts';

const ingress = (sources: unknown[]): KubeObject => ({
  apiVersion: 'policy.trellis.io/v1alpha1',
  kind: 'IngressBackend',
  metadata: { name: 'ib', namespace: 'app' },
  spec: { backends: [{ name: 'web', port: { number: 8080, protocol: 'http' } }], sources },
});

function setup(objs: KubeObject[]) {
  const store = new MeshStore(fakeDeps());
  const sink = store.sinkFor('t');
  for (const o of [...workload('app', 'web', '10.0.0.2'), ...workload('edge', 'gw', '10.0.0.9'), ...objs]) sink.apply(o);
  return { store, sink, catalog: new Catalog(store) };
}
const WEB = { namespace: 'app', serviceAccount: 'web' };

describe('catalog: IngressBackend', () => {
  it('gives the backend port the source Service endpoints and IP ranges; a source without endpoints admits nobody', () => {
    const { catalog } = setup([ingress([{ kind: 'Service', name: 'gw', namespace: 'edge' }, { kind: 'IPRange', name: '192.168.0.0/16' }])]);
    expect(catalog.viewFor(WEB).inbound[0]?.ingress).toEqual({
      policy: 'app/ib',
      protocol: 'http',
      sourceRanges: ['10.0.0.9/32', '192.168.0.0/16'],
      principals: 'any',
      skipClientCertValidation: false,
      sniHosts: [],
    });
    const none = setup([ingress([{ kind: 'Service', name: 'missing', namespace: 'edge' }])]);
    expect(none.catalog.viewFor(WEB).inbound[0]?.ingress?.sourceRanges).toEqual(['192.0.2.0/32']);
  });

  it("a change of a source Service's endpoints affects the backend's view", () => {
    const { store, sink, catalog } = setup([ingress([{ kind: 'Service', name: 'gw', namespace: 'edge' }])]);
    catalog.viewFor(WEB);
    const seen: StoreChange[] = [];
    const off = store.onChange((c) => seen.push(c));
    sink.apply(slice('edge', 'gw', [{ ip: '10.0.0.10' }, { ip: '10.0.0.9', pod: 'gw-0' }], [{ name: 'http', port: 8080 }]));
    off();
    const affected = seen.map((c) => catalog.affected(c));
    expect(affected.some((a) => a === 'all' || a.has(identityKey(WEB)))).toBe(true);
    expect(catalog.viewFor(WEB).inbound[0]?.ingress?.sourceRanges).toEqual(['10.0.0.10/32', '10.0.0.9/32']);
  });
});
