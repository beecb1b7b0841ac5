/**
 * The real store -> catalog -> Envoy generator path in one process, for GAMMA conformance replays: objects in,
 * one identity's Envoy resources out, checked strictly (unknown keys, PGV rules, references) before the route
 * evaluator reads them decoded from their wire bytes.
 */
import { Catalog, MeshStore, validateEnvoyResource, xds } from '@trellis/core';
import type { Identity, KubeObject, NodeIdentity, ProxyView, XdsResource } from '@trellis/plugin-sdk';
import { MemoryBus, MemoryLogger, MemoryMetrics } from '@trellis/plugin-sdk/testing';
import { createEnvoyGenerator } from '@trellis/plugin-proxy-envoy';
import { decodeResources, evaluate } from './envoy-route-eval.ts';
import type { OutboundRequest, Outcome } from './envoy-route-eval.ts';
import { placeholderCertificate } from './placeholder-cert.ts';

export class GammaPipeline {
  readonly store = new MeshStore({ bus: new MemoryBus(), logger: new MemoryLogger(), metrics: new MemoryMetrics() });
  readonly catalog = new Catalog(this.store);
  readonly #sink = this.store.sinkFor('test');
  readonly #factory = xds.createResourceFactory({ strict: true });

  constructor(objects: readonly KubeObject[] = []) {
    this.apply(...objects);
  }

  apply(...objs: KubeObject[]): this {
    for (const o of objs) this.#sink.apply(o);
    return this;
  }

  replace(objs: readonly KubeObject[]): this {
    this.#sink.replaceAll(objs.map((obj) => ({ obj })));
    return this;
  }

  view(id: Identity): ProxyView {
    return this.catalog.viewFor(id);
  }

  /** The identity's Envoy resources; throws when any is not strictly valid or references something missing. */
  envoyResources(id: Identity): XdsResource[] {
    const node: NodeIdentity = { uuid: '38cf2479-bfea-4c1e-a961-f8f8e2b2e8cb', kind: 'sidecar', trustDomain: 'cluster.local', ...id };
    const out = createEnvoyGenerator({ metrics: false }).generate(this.view(id), { node, resources: this.#factory, certificate: placeholderCertificate });
    const problems = [...out.flatMap((r) => validateEnvoyResource(r.typeUrl, r.value).map((p) => `${r.name}: ${p}`)), ...xds.checkConsistency(new xds.Snapshot(out))];
    if (problems.length) throw new Error(`invalid Envoy resources for ${id.namespace}/${id.serviceAccount}:\n${problems.join('\n')}`);
    return out;
  }

  /** Where `req` from a sidecar of `id` goes, per the generated config. */
  send(id: Identity, req: OutboundRequest): Outcome {
    return evaluate(decodeResources(this.envoyResources(id)), req);
  }
}
