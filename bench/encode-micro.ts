/**
 * Micro-measurement of generate + encode for one large view, in process: `node bin/run-ts.js
 * bench/encode-micro.ts [--services N] [--reps R]`. The mesh is permissive (every service visible to the
 * identity: the largest view), and every repetition uses a fresh generator, so every resource is built and
 * encoded (no memo hits). Prints wall ms and CPU ms per snapshot for the production factory and for the
 * strict one (full proto walk first, as tests and `trellis proxy-config validate` run it).
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Bus, MetricsRegistry, silentLogger } from '@trellis/core';
import { createSelfSignedProvider } from '@trellis/plugin-certs-selfsigned';
import { createEnvoyGenerator } from '@trellis/plugin-proxy-envoy';
import type { KubeObject, XdsResource, XdsResourceFactory } from '@trellis/plugin-sdk';
// eslint-disable-next-line no-restricted-imports -- @trellis/core does not export the store and catalog; the bench drives them directly.
import { Catalog } from '../core/src/catalog/index.ts';
// eslint-disable-next-line no-restricted-imports -- (same)
import { MeshStore } from '../core/src/store/index.ts';
// eslint-disable-next-line no-restricted-imports -- (same)
import { createResourceFactory } from '../core/src/xds/index.ts';
import { buildMesh, meshConfigObject } from './mesh-gen.ts';

const { values } = parseArgs({ options: { services: { type: 'string', default: '1000' }, reps: { type: 'string', default: '20' } } });
const services = Number(values.services);
const reps = Number(values.reps);

const dir = mkdtempSync(join(tmpdir(), 'trellis-bench-enc-'));
try {
  const provider = createSelfSignedProvider({ stateDir: dir, caValidityMs: 87_600 * 3_600_000, keyType: 'ecdsa-p256', commonName: 'bench-ca' });
  await provider.start?.();
  const cert = await provider.issue({ commonName: 'x.bench', dnsNames: ['x.bench'], uris: [], validityMs: 86_400_000, keyType: 'ecdsa-p256' });
  const { files, services: svcs } = buildMesh(services);
  const metrics = new MetricsRegistry();
  const logger = silentLogger();
  const store = new MeshStore({ bus: new Bus(logger, metrics), logger, metrics });
  const catalog = new Catalog(store);
  const sink = store.sinkFor('bench');
  for (const o of [...files.values()].flat() as KubeObject[]) sink.apply(o);
  sink.apply(meshConfigObject({ permissive: true, egress: false }) as KubeObject);
  const s = svcs[0];
  if (!s) throw new Error('empty mesh');
  const view = catalog.viewFor({ namespace: s.namespace, serviceAccount: s.serviceAccount });
  const node = { uuid: '00000000-0000-4000-8000-000000000000', kind: 'sidecar', namespace: s.namespace, serviceAccount: s.serviceAccount, trustDomain: 'cluster.local' };

  const measure = (label: string, resources: XdsResourceFactory): void => {
    const run = () => createEnvoyGenerator().generate(view, { node, resources, certificate: cert });
    for (let i = 0; i < 3; i++) run(); // warm-up: JIT and per-type tables
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let count = 0;
    let bytes = 0;
    for (let i = 0; i < reps; i++) {
      const out = run();
      count = out.length;
      bytes = out.reduce((n, r) => n + r.body.length, 0);
    }
    const wall = (performance.now() - t0) / reps;
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = (cpu.user + cpu.system) / 1000 / reps;
    console.log(`${label}: ${wall.toFixed(1)} ms wall, ${cpuMs.toFixed(1)} ms CPU per snapshot (${count} resources, ${bytes} bytes, ${reps} reps)`);
  };
  // The factory alone: the same inputs, recorded once, encoded again and again (no object building).
  type Create = (typeUrl: string, name: string, value: object, options?: object) => XdsResource;
  const inputs: [string, string, object, object | undefined][] = [];
  const production = createResourceFactory();
  const record: Create = (typeUrl, name, value, options) => {
    inputs.push([typeUrl, name, value, options]);
    return (production.create as Create)(typeUrl, name, value, options);
  };
  const recorder: XdsResourceFactory = { create: record };
  createEnvoyGenerator().generate(view, { node, resources: recorder, certificate: cert });
  const encodeOnly = (label: string, resources: XdsResourceFactory): void => {
    const encodeAll = () => {
      for (const [typeUrl, name, value, options] of inputs) (resources.create as Create)(typeUrl, name, value, options);
    };
    for (let i = 0; i < 3; i++) encodeAll();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) encodeAll();
    const wall = (performance.now() - t0) / reps;
    const cpu = process.cpuUsage(cpu0);
    console.log(`${label}: ${wall.toFixed(1)} ms wall, ${((cpu.user + cpu.system) / 1000 / reps).toFixed(1)} ms CPU per snapshot's ${inputs.length} resources`);
  };
  console.log(`one permissive view over ${services} services (identity ${s.namespace}/${s.serviceAccount})`);
  measure('generate+encode, production factory', createResourceFactory());
  measure('generate+encode, strict factory    ', createResourceFactory({ strict: true }));
  encodeOnly('encode only,     production factory', createResourceFactory());
  encodeOnly('encode only,     strict factory    ', createResourceFactory({ strict: true }));
  catalog.dispose();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
