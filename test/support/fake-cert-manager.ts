import 'reflect-metadata'; // @peculiar/x509 uses tsyringe, which needs the Reflect polyfill
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { FakeApiServer, KubeObj } from './fake-apiserver/index.ts';

/**
 * A stand-in for cert-manager's controller and its default approver, on the fake API server: it watches
 * CertificateRequests of one Issuer and acts on them the way cert-manager does — sets `Approved` (auto mode)
 * or leaves approval to someone else, answers `Denied` with Ready=False/Denied, and signs approved requests
 * with a real CA (ECDSA P-256): it verifies the CSR's signature, copies its subject and SANs, honours
 * `spec.duration` and `spec.usages`, and writes `status.certificate` and `status.ca` (base64 PEM) with
 * Ready=True/Issued. The CA certificate is published in a Secret (`ca.crt`, like a CA issuer's Secret) and a
 * ConfigMap (`ca.crt`, like a trust-manager bundle). Not cert-manager itself: named as a stand-in.
 */

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const API = 'cert-manager.io/v1';

export interface FakeCertManagerOptions {
  readonly namespace: string;
  readonly issuer: string;
  /** `auto`: approve every request for the issuer (cert-manager's default approver); `none`: leave it. */
  readonly approver?: 'auto' | 'none';
  /** Deny a request (the approver's policy): a message, or undefined to approve. */
  readonly deny?: (cr: KubeObj) => string | undefined;
  /** Fail signing (the issuer's error): a message, or undefined to sign. */
  readonly fail?: (cr: KubeObj) => string | undefined;
  /** Stop signing (a stalled issuer): requests stay pending. */
  stalled?: boolean;
}

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

/** Go durations as cert-manager reads `spec.duration` (h, m, s units). */
function goDurationMs(d: string): number {
  let ms = 0;
  for (const m of d.matchAll(/(\d+(?:\.\d+)?)(h|m|s)/g)) ms += Number(m[1]) * { h: 3600_000, m: 60_000, s: 1000 }[m[2] as 'h' | 'm' | 's'];
  return ms || 90 * 24 * 3600_000;
}

const EKU: Record<string, string> = { 'server auth': x509.ExtendedKeyUsage.serverAuth, 'client auth': x509.ExtendedKeyUsage.clientAuth };

export class FakeCertManager {
  /** Requests signed, by name. */
  readonly signed = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #busy = false;

  private constructor(
    readonly api: FakeApiServer,
    readonly opts: FakeCertManagerOptions,
    readonly caPem: string,
    private readonly ca: x509.X509Certificate,
    private readonly caKey: webcrypto.CryptoKey,
  ) {}

  static async start(api: FakeApiServer, opts: FakeCertManagerOptions): Promise<FakeCertManager> {
    const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']));
    const now = Date.now();
    const ca = await x509.X509CertificateGenerator.createSelfSigned({
      name: `CN=fake cert-manager ${opts.issuer} CA`,
      keys,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 24 * 3600_000),
      signingAlgorithm: alg,
      extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
    });
    const caPem = ca.toString('pem');
    const b64 = Buffer.from(caPem).toString('base64');
    api.put({ apiVersion: 'v1', kind: 'Secret', metadata: { name: `${opts.issuer}-ca`, namespace: opts.namespace }, type: 'kubernetes.io/tls', data: { 'ca.crt': b64, 'tls.crt': b64 } });
    api.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${opts.issuer}-bundle`, namespace: opts.namespace }, data: { 'ca.crt': caPem } });
    const cm = new FakeCertManager(api, opts, caPem, ca, keys.privateKey);
    cm.#timer = setInterval(() => void cm.#reconcile(), 10);
    return cm;
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async #reconcile(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      for (const cr of this.api.objects(API, 'CertificateRequest')) {
        if (cr.metadata.namespace !== this.opts.namespace) continue;
        const spec = cr.spec as { issuerRef?: { name?: string }; request?: string; duration?: string; usages?: string[] };
        if (spec.issuerRef?.name !== this.opts.issuer) continue;
        const status = (cr.status ?? {}) as { conditions?: Condition[] };
        const conditions = status.conditions ?? [];
        const has = (type: string): boolean => conditions.some((c) => c.type === type && c.status === 'True');
        const ready = conditions.find((c) => c.type === 'Ready');
        if (ready?.status === 'True' || ready?.reason === 'Failed' || ready?.reason === 'Denied') continue;
        const write = (more: Condition[], extra: Record<string, unknown> = {}): void => {
          const types = new Set(more.map((c) => c.type));
          this.api.put({ ...cr, status: { ...status, ...extra, conditions: [...conditions.filter((c) => !types.has(c.type)), ...more] } });
        };
        if (has('Denied')) {
          write([{ type: 'Ready', status: 'False', reason: 'Denied', message: 'The CertificateRequest was denied by an approval controller' }]);
          continue;
        }
        if (!has('Approved')) {
          const denial = this.opts.deny?.(cr);
          if (denial !== undefined) write([{ type: 'Denied', status: 'True', reason: 'policy.cert-manager.io', message: denial }]);
          else if ((this.opts.approver ?? 'auto') === 'auto') write([{ type: 'Approved', status: 'True', reason: 'cert-manager.io', message: 'Certificate request has been approved by cert-manager.io' }]);
          else if (!ready) write([{ type: 'Ready', status: 'False', reason: 'Pending', message: 'Waiting on certificate issuance from order: not approved' }]);
          continue;
        }
        if (this.opts.stalled) continue;
        const failure = this.opts.fail?.(cr);
        if (failure !== undefined) {
          write([{ type: 'Ready', status: 'False', reason: 'Failed', message: failure }], { failureTime: new Date().toISOString() });
          continue;
        }
        try {
          const cert = await this.#sign(Buffer.from(spec.request ?? '', 'base64').toString('utf8'), spec.duration ?? '', spec.usages ?? []);
          // Re-read: the object may have changed while signing.
          if (!this.api.objects(API, 'CertificateRequest').some((o) => o.metadata.uid === cr.metadata.uid && o.metadata.resourceVersion === cr.metadata.resourceVersion)) continue;
          write([{ type: 'Ready', status: 'True', reason: 'Issued', message: 'Certificate fetched from issuer successfully' }], {
            certificate: Buffer.from(cert).toString('base64'),
            ca: Buffer.from(this.caPem).toString('base64'),
          });
          this.signed.add(cr.metadata.name);
        } catch (err) {
          write([{ type: 'Ready', status: 'False', reason: 'Failed', message: `Failed to sign: ${(err as Error).message}` }], { failureTime: new Date().toISOString() });
        }
      }
    } finally {
      this.#busy = false;
    }
  }

  async #sign(csrPem: string, duration: string, usages: readonly string[]): Promise<string> {
    const csr = new x509.Pkcs10CertificateRequest(csrPem);
    if (!(await csr.verify())) throw new Error('the CSR signature does not verify');
    const ext = csr.getExtension('2.5.29.17');
    const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000);
    const cert = await x509.X509CertificateGenerator.create({
      subject: csr.subject,
      issuer: this.ca.subject,
      publicKey: csr.publicKey,
      signingKey: this.caKey,
      notBefore,
      notAfter: new Date(notBefore.getTime() + goDurationMs(duration)),
      signingAlgorithm: alg,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(
          (usages.includes('digital signature') ? x509.KeyUsageFlags.digitalSignature : 0) | (usages.includes('key encipherment') ? x509.KeyUsageFlags.keyEncipherment : 0),
          true,
        ),
        ...(usages.some((u) => EKU[u]) ? [new x509.ExtendedKeyUsageExtension(usages.flatMap((u) => (EKU[u] ? [EKU[u]] : [])))] : []),
        ...(ext ? [new x509.SubjectAlternativeNameExtension(ext.rawData)] : []),
      ],
    });
    return cert.toString('pem');
  }
}
