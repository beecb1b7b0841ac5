/**
 * A stand-in controller for the gRPC end-to-end tests until the real one is wired: the real mesh store and
 * catalog fed with Kubernetes-shaped objects, the grpc plugin's generator, the real SnapshotCache and
 * XdsServer on a plaintext loopback listener. After every change it regenerates every identity's snapshot.
 */
import { identityKey } from '@trellis/plugin-sdk';
import type { KubeObject, NodeIdentity, ObjectKey, ProxyView } from '@trellis/plugin-sdk';
import { createGrpcGenerator } from '@trellis/plugin-proxy-grpc';
// eslint-disable-next-line no-restricted-imports -- the core does not export these rooms from its entry yet
import { Catalog } from '../../core/src/catalog/index.ts';
// eslint-disable-next-line no-restricted-imports -- (same reason)
import { MeshStore } from '../../core/src/store/index.ts';
// eslint-disable-next-line no-restricted-imports -- (same reason)
import { fakeDeps } from '../../core/src/store/test-fakes.ts';
// eslint-disable-next-line no-restricted-imports -- (same reason)
import { Snapshot, SnapshotCache, XdsServer, createResourceFactory } from '../../core/src/xds/index.ts';

export class GrpcTestController {
  readonly store = new MeshStore(fakeDeps());
  readonly catalog = new Catalog(this.store);
  readonly cache = new SnapshotCache();
  readonly #sink = this.store.sinkFor('test');
  readonly #generate = createGrpcGenerator();
  readonly #factory = createResourceFactory({ strict: true });
  #server: XdsServer | undefined;
  /** `host:port` of the plaintext ADS listener, once started. */
  address = '';

  /** The ADS server (its registry shows what each proxy subscribed to, was sent and acked). */
  get server(): XdsServer | undefined {
    return this.#server;
  }

  async start(): Promise<void> {
    this.#server = new XdsServer({ cache: this.cache, plaintextAddress: '127.0.0.1:0' });
    const ports = await this.#server.start();
    this.address = `127.0.0.1:${ports.plaintextPort}`;
  }

  apply(...objs: KubeObject[]): void {
    for (const o of objs) this.#sink.apply(o);
    this.refresh();
  }

  delete(...keys: ObjectKey[]): void {
    for (const k of keys) this.#sink.delete(k);
    this.refresh();
  }

  view(namespace: string, serviceAccount: string): ProxyView {
    return this.catalog.viewFor({ namespace, serviceAccount });
  }

  /** Regenerates and sets the `grpc` snapshot of every identity; throws on an inconsistent snapshot. */
  refresh(): void {
    for (const id of this.catalog.identities()) {
      const node: NodeIdentity = { ...id, uuid: '00000000-0000-0000-0000-000000000000', kind: 'grpc', trustDomain: this.catalog.trustDomain() };
      const resources = this.#generate(this.catalog.viewFor(id), { resources: this.#factory });
      const r = this.cache.setSnapshot(this.cache.keyOf(node), new Snapshot(resources));
      if (!r.ok) throw new Error(`snapshot for ${identityKey(id)}: ${r.problems.join('; ')}`);
    }
  }

  async stop(): Promise<void> {
    await this.#server?.stop(100);
    this.catalog.dispose();
  }
}
