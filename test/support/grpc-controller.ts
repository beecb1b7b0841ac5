/**
 * The real controller for the gRPC end-to-end tests: `startTestMesh` with the self-signed CA and the grpc
 * backend, ADS on a plaintext loopback listener (grpc-js-xds cannot use TLS to a control plane). Workloads get
 * their bootstrap from the grpc plugin instance's `bootstrap()` and their certificate from the controller's
 * certificate manager, as `trellis bootstrap grpc` does; `keepFresh` rewrites a workload's files on rotation,
 * as `trellis agent` does.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certificateRotated, controllerRef, type ControllerHandle } from '@trellis/core';
import { coreServices, identityKey } from '@trellis/plugin-sdk';
import type { CertificatesPlugin, Identity, IssuedCertificate, KubeObject, ObjectKey, ProxyPlugin, ProxyView } from '@trellis/plugin-sdk';
import { startTestMesh, type TestMesh, type TestMeshOptions } from '@trellis/plugin-sdk/testing';
import selfsigned from '@trellis/plugin-certs-selfsigned';
import grpcBackend from '@trellis/plugin-proxy-grpc';
import { GrpcWorkload } from './grpc-workloads.ts';

export interface GrpcTestMeshOptions {
  /** Workload certificate validity (a duration such as `4s`); default the controller's (24 h). */
  readonly certificateValidity?: string;
  readonly objects?: readonly KubeObject[];
  /** More plugins (a test source, say), with their config and instance name. */
  readonly plugins?: TestMeshOptions['plugins'];
  /** The selfsigned CA's config (default: a fresh `stateDir`), e.g. a `caSecret` shared by replicas. */
  readonly caConfig?: Record<string, unknown>;
  /** Another certificate provider instead of the selfsigned CA (e.g. use: cert-manager). */
  readonly certificates?: TestMeshOptions['plugins'][number];
}

export class GrpcTestMesh {
  readonly #stateDir: string;
  readonly #unsubscribe: (() => void)[] = [];
  private constructor(
    readonly mesh: TestMesh,
    stateDir: string,
  ) {
    this.#stateDir = stateDir;
  }

  static async start(opts: GrpcTestMeshOptions = {}): Promise<GrpcTestMesh> {
    const stateDir = await mkdtemp(join(tmpdir(), 'trellis-grpc-ca-'));
    const mesh = await startTestMesh({
      plugins: [
        opts.certificates ?? { definition: selfsigned, config: opts.caConfig ?? { stateDir } },
        // combined: certificate and key change in one rename, so a re-read never pairs a new certificate with an
        // old key (with separate files the rotation test saw such a torn read about once in four runs).
        { definition: grpcBackend, config: { refreshInterval: '1s', certificateFiles: 'combined' } },
        ...(opts.plugins ?? []),
      ],
      settings: {
        xds: { address: '127.0.0.1:0', plaintextAddress: '127.0.0.1:0', debounce: { quiet: '5ms', max: '50ms' } },
        // grpc-js-xds keeps its ADS channels open after a workload's channels close: do not wait for them.
        shutdown: { grace: '100ms' },
        ...(opts.certificateValidity && { certificates: { validity: opts.certificateValidity, renewBefore: 0.5, jitter: 0 } }),
      },
      objects: opts.objects ?? [],
    });
    return new GrpcTestMesh(mesh, stateDir);
  }

  get handle(): ControllerHandle {
    return this.mesh.resolve(controllerRef);
  }

  /** `host:port` of the controller's plaintext ADS listener. */
  get address(): string {
    return `127.0.0.1:${this.handle.ports().plaintextPort}`;
  }

  apply(...objs: KubeObject[]): void {
    for (const o of objs) this.mesh.apply(o);
  }

  delete(...keys: ObjectKey[]): void {
    for (const k of keys) this.mesh.delete(k);
  }

  view(namespace: string, serviceAccount: string): ProxyView {
    return this.handle.catalog.viewFor({ namespace, serviceAccount });
  }

  /** The identity's workload certificate from the controller's certificate manager. */
  certificate(id: Identity): Promise<IssuedCertificate> {
    return this.handle.certificates().workload(id);
  }

  /** A certificate from the mesh CA whose SPIFFE ID is `uri` (e.g. another identity's: an impostor). */
  issueWithUri(id: Identity, uri: string): Promise<IssuedCertificate> {
    const provider = this.mesh.instance<CertificatesPlugin>('selfsigned');
    if (!provider) throw new Error('no selfsigned instance');
    return provider.issue({ commonName: `${id.serviceAccount}.${id.namespace}`, dnsNames: [], uris: [uri], validityMs: 3600_000, keyType: 'ecdsa-p256' });
  }

  /** A workload whose bootstrap the grpc plugin wrote (`trellis bootstrap grpc`). */
  async workload(id: Identity, certificate?: IssuedCertificate): Promise<GrpcWorkload> {
    const backend = this.mesh.instance<ProxyPlugin>('grpc');
    if (!backend?.bootstrap) throw new Error('no grpc backend instance with bootstrap()');
    return GrpcWorkload.create({
      identity: id,
      controllerAddress: this.address,
      certificate: certificate ?? (await this.certificate(id)),
      bootstrap: backend.bootstrap.bind(backend),
    });
  }

  /** Rewrites the workload's certificate files whenever the controller re-issues its certificate (`trellis agent`). */
  keepFresh(w: GrpcWorkload, onWrite?: (c: IssuedCertificate) => void): void {
    const id = { namespace: w.node.namespace, serviceAccount: w.node.serviceAccount };
    this.#unsubscribe.push(
      this.mesh.resolve(coreServices.bus).subscribe(
        certificateRotated,
        async (e) => {
          if (e.kind !== 'workload' || !e.identity || identityKey(e.identity) !== identityKey(id)) return;
          const c = await this.certificate(id);
          await w.rotate(c);
          onWrite?.(c);
        },
        { name: `agent:${identityKey(id)}` },
      ),
    );
  }

  async stop(): Promise<void> {
    for (const u of this.#unsubscribe.splice(0)) u();
    await this.mesh.stop();
    await rm(this.#stateDir, { recursive: true, force: true });
  }
}
