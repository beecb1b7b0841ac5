import { createHash } from 'node:crypto';
import {
  ErrorCodes,
  KEY_TYPES,
  SecretValue,
  TrellisError,
  type CertificateRequest,
  type CertificatesPlugin,
  type IssuedCertificate,
  type Logger,
  type Readiness,
  type SignedCertificate,
  type SignRequest,
  type TrustBundle,
} from '@trellis/plugin-sdk';
import { Watch } from '@kubernetes/client-node';
import { certificatesOf, csrNames, newCsr } from './internal/csr.ts';
import { apiErrorText, statusOf, type KubeApis } from './internal/kube.ts';

export interface IssuerRef {
  readonly name: string;
  readonly kind: string;
  readonly group: string;
}

/** Where the issuer's CA certificates are published: a key of a Secret or a ConfigMap. */
export interface TrustSource {
  readonly kind: 'Secret' | 'ConfigMap';
  readonly namespace: string;
  readonly name: string;
  readonly key: string;
}

export interface CertManagerOptions {
  readonly apis: KubeApis;
  /** Namespace of the CertificateRequests (an `Issuer` must live there; a `ClusterIssuer` is cluster-wide). */
  readonly namespace: string;
  readonly issuerRef: IssuerRef;
  readonly usages: readonly string[];
  /** Set the `Approved` condition on our own requests (as `cmctl approve` does) instead of waiting for an approver. */
  readonly approve: boolean;
  /** How long a request may take to become Ready. */
  readonly timeoutMs: number;
  /** After a watch failed or ended, wait this long, re-read the request and watch again. */
  readonly pollMs: number;
  readonly trust: TrustSource;
  /** Delete a CertificateRequest once its outcome is read (default true: they would pile up, one per issuance). */
  readonly deleteRequests?: boolean;
  readonly logger?: Logger;
}

const GROUP = 'cert-manager.io';
const VERSION = 'v1';
const PLURAL = 'certificaterequests';

interface Condition {
  readonly type?: string;
  readonly status?: string;
  readonly reason?: string;
  readonly message?: string;
}
interface CertReqObj {
  metadata: { name: string; resourceVersion?: string };
  status?: { conditions?: Condition[]; certificate?: string; ca?: string };
}

const issueFailed = (message: string, cause?: unknown): TrellisError =>
  new TrellisError(ErrorCodes.CERT_ISSUE_FAILED, `cert-manager: ${message}`, cause === undefined ? {} : { cause });
const unavailable = (message: string, cause?: unknown): TrellisError =>
  new TrellisError(ErrorCodes.CERT_PROVIDER_UNAVAILABLE, `cert-manager: ${message}`, cause === undefined ? {} : { cause });

const condition = (o: CertReqObj, type: string): Condition | undefined => o.status?.conditions?.find((c) => c.type === type);
const reasonText = (c: Condition): string => `${c.reason ?? 'no reason'}${c.message ? `: ${c.message}` : ''}`;
/** A Go duration cert-manager parses (`spec.duration`), whole seconds. */
const goDuration = (ms: number): string => `${Math.max(1, Math.ceil(ms / 1000))}s`;

/** Certificates through cert-manager: one CertificateRequest per issuance, signed by the configured issuer. */
export function createCertManagerProvider(opts: CertManagerOptions): CertificatesPlugin {
  const { custom, core } = opts.apis;
  const where = `certificaterequests in ${opts.namespace} (issuer ${opts.issuerRef.kind}/${opts.issuerRef.name})`;
  const trustWhere = `${opts.trust.kind} ${opts.trust.namespace}/${opts.trust.name} key ${opts.trust.key}`;
  let bundle: TrustBundle | undefined;
  let lastError: string | undefined;
  let stopped = false;

  const fetchBundle = async (): Promise<TrustBundle> => {
    let text: string | undefined;
    try {
      if (opts.trust.kind === 'Secret') {
        const s = await core.readNamespacedSecret({ name: opts.trust.name, namespace: opts.trust.namespace });
        const b64 = s.data?.[opts.trust.key];
        text = b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('utf8');
      } else {
        const c = await core.readNamespacedConfigMap({ name: opts.trust.name, namespace: opts.trust.namespace });
        text = c.data?.[opts.trust.key];
      }
    } catch (err) {
      throw unavailable(`trust bundle ${trustWhere}: ${apiErrorText(err)}`, err);
    }
    if (text === undefined) throw unavailable(`trust bundle ${trustWhere}: the key is missing`);
    let roots;
    try {
      roots = certificatesOf(text, `trust bundle ${trustWhere}`);
    } catch (err) {
      throw unavailable((err as Error).message, err);
    }
    const pems = roots.map((r) => r.toString());
    return { roots: pems, issuerId: createHash('sha256').update(pems.join('')).digest('hex') };
  };

  const trustBundle = async (): Promise<TrustBundle> => {
    try {
      bundle = await fetchBundle();
      lastError = undefined;
      return bundle;
    } catch (err) {
      lastError = (err as Error).message;
      throw err;
    }
  };

  const approve = async (obj: CertReqObj): Promise<void> => {
    let cur = obj;
    for (let attempt = 0; ; attempt++) {
      const conditions = [
        ...(cur.status?.conditions ?? []).filter((c) => c.type !== 'Approved'),
        { type: 'Approved', status: 'True', reason: 'trellis.io', message: 'approved by the Trellis controller', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') },
      ];
      try {
        await custom.replaceNamespacedCustomObjectStatus({ group: GROUP, version: VERSION, plural: PLURAL, namespace: opts.namespace, name: obj.metadata.name, body: { ...cur, status: { ...cur.status, conditions } } });
        return;
      } catch (err) {
        if (statusOf(err) !== 409 || attempt >= 3) throw issueFailed(`approving certificaterequest ${opts.namespace}/${obj.metadata.name}: ${apiErrorText(err)}`, err);
        cur = (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace: opts.namespace, name: obj.metadata.name })) as CertReqObj;
        if (condition(cur, 'Approved')?.status === 'True' || condition(cur, 'Denied')?.status === 'True') return;
      }
    }
  };

  const watcher = new Watch(opts.apis.kc);
  const path = `/apis/${GROUP}/${VERSION}/namespaces/${encodeURIComponent(opts.namespace)}/${PLURAL}`;
  /** Waits ending now (the provider stopped). */
  const waiting = new Set<() => void>();

  /**
   * The request's next version: watched (one object, from the version we hold), so an outcome arrives as soon
   * as the signer writes it. A watch that fails or ends is followed, after `pollMs`, by one GET (what changed
   * meanwhile) and the caller watches again. At the deadline (or on stop) it resolves with what it has.
   */
  const nextVersion = (name: string, last: CertReqObj, deadline: number): Promise<CertReqObj | 'deleted'> =>
    new Promise((resolve) => {
      let done = false;
      let controller: AbortController | undefined;
      let retry: NodeJS.Timeout | undefined;
      const finish = (o: CertReqObj | 'deleted'): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (retry) clearTimeout(retry);
        waiting.delete(stop);
        controller?.abort();
        resolve(o);
      };
      const stop = (): void => finish(last);
      waiting.add(stop);
      const timer = setTimeout(stop, Math.max(1, deadline - Date.now()));
      const reread = (): void => {
        if (done || retry) return;
        retry = setTimeout(() => {
          custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace: opts.namespace, name }).then(
            (o) => finish(o as CertReqObj),
            (err: unknown) => {
              if (statusOf(err) === 404) return finish('deleted');
              // A transient failure while waiting is retried until the deadline.
              opts.logger?.debug('reading a certificaterequest failed; retrying', { request: `${opts.namespace}/${name}`, error: apiErrorText(err) });
              finish(last);
            },
          );
        }, opts.pollMs);
      };
      const query = {
        fieldSelector: `metadata.name=${name}`,
        ...(last.metadata.resourceVersion !== undefined && { resourceVersion: last.metadata.resourceVersion }),
        allowWatchBookmarks: true,
        timeoutSeconds: Math.max(1, Math.ceil((deadline - Date.now()) / 1000)),
      };
      watcher
        .watch(
          path,
          query,
          (type: string, obj: unknown) => {
            if (type === 'ADDED' || type === 'MODIFIED') finish(obj as CertReqObj);
            else if (type === 'DELETED') finish('deleted');
            else if (type === 'ERROR') reread(); // 410 Expired and the like: read it again
          },
          () => reread(),
        )
        .then(
          (c) => {
            controller = c;
            if (done) c.abort();
          },
          (err: unknown) => {
            opts.logger?.debug('watching a certificaterequest failed; re-reading it', { request: `${opts.namespace}/${name}`, error: apiErrorText(err) });
            reread();
          },
        );
    });

  /** Creates the request, approves it if configured, and waits for its outcome. */
  const request = async (csrPem: string, commonName: string, validityMs: number): Promise<SignedCertificate> => {
    if (stopped) throw unavailable('stopped');
    let created: CertReqObj;
    try {
      created = (await custom.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace: opts.namespace,
        body: {
          apiVersion: `${GROUP}/${VERSION}`,
          kind: 'CertificateRequest',
          metadata: { generateName: 'trellis-', labels: { 'app.kubernetes.io/managed-by': 'trellis' }, annotations: { 'trellis.io/common-name': commonName.slice(0, 64) } },
          spec: {
            request: Buffer.from(csrPem).toString('base64'),
            issuerRef: { name: opts.issuerRef.name, kind: opts.issuerRef.kind, group: opts.issuerRef.group },
            duration: goDuration(validityMs),
            usages: [...opts.usages],
            isCA: false,
          },
        },
      })) as CertReqObj;
    } catch (err) {
      const code = statusOf(err);
      const hint = code === 403 ? ' (RBAC: the controller needs create, get, watch, delete on certificaterequests.cert-manager.io)' : code === 404 ? ' (is cert-manager installed, and the namespace present?)' : '';
      const make = code === 0 || code >= 500 ? unavailable : issueFailed;
      throw make(`creating a request in ${where}: ${apiErrorText(err)}${hint}`, err);
    }
    const name = `${opts.namespace}/${created.metadata.name}`;
    try {
      if (opts.approve) await approve(created);
      const deadline = Date.now() + opts.timeoutMs;
      let last: CertReqObj = created;
      for (;;) {
        const denied = condition(last, 'Denied');
        if (denied?.status === 'True') throw issueFailed(`certificaterequest ${name} was denied: ${reasonText(denied)}`);
        const invalid = condition(last, 'InvalidRequest');
        if (invalid?.status === 'True') throw issueFailed(`certificaterequest ${name} is invalid: ${reasonText(invalid)}`);
        const ready = condition(last, 'Ready');
        if (ready?.status === 'False' && (ready.reason === 'Failed' || ready.reason === 'Denied')) throw issueFailed(`certificaterequest ${name} failed: ${reasonText(ready)}`);
        if (ready?.status === 'True' && last.status?.certificate) return signed(last, name);
        if (Date.now() >= deadline) {
          const approved = condition(last, 'Approved');
          const state = ready ? `Ready=${ready.status ?? '?'} (${reasonText(ready)})` : approved?.status === 'True' ? 'approved, not signed' : 'not approved (no approver? set approve: true or run cert-manager\'s approver)';
          throw unavailable(`certificaterequest ${name} not Ready after ${opts.timeoutMs} ms: ${state}`);
        }
        if (stopped) throw unavailable(`stopped while waiting for ${name}`);
        const next = await nextVersion(created.metadata.name, last, deadline);
        if (next === 'deleted') throw unavailable(`certificaterequest ${name} was deleted while waiting for it`);
        last = next;
      }
    } finally {
      if (opts.deleteRequests ?? true)
        await custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace: opts.namespace, name: created.metadata.name }).catch((err: unknown) => {
          opts.logger?.warn('could not delete a finished certificaterequest', { request: name, error: apiErrorText(err) });
        });
    }
  };

  const signed = async (o: CertReqObj, name: string): Promise<SignedCertificate> => {
    const chainPem = Buffer.from(o.status?.certificate ?? '', 'base64').toString('utf8');
    let chain;
    try {
      chain = certificatesOf(chainPem, `certificaterequest ${name} status.certificate`);
    } catch (err) {
      throw issueFailed((err as Error).message, err);
    }
    const leaf = chain[0]!;
    const caPem = o.status?.ca ? Buffer.from(o.status.ca, 'base64').toString('utf8') : undefined;
    const issuing = chain[1]?.toString() ?? (caPem !== undefined ? certificatesOf(caPem, `certificaterequest ${name} status.ca`)[0]!.toString() : undefined);
    const b = bundle ?? (await trustBundle());
    return {
      certificatePem: leaf.toString(),
      chainPem: chain.map((c) => c.toString()).join(''),
      issuingCaPem: issuing ?? b.roots[0]!,
      trustBundlePem: b.roots.join(''),
      serialNumber: leaf.serialNumber.toLowerCase(),
      notBefore: new Date(leaf.validFrom),
      notAfter: new Date(leaf.validTo),
    };
  };

  return {
    async start() {
      stopped = false;
      try {
        await trustBundle();
        opts.logger?.info('cert-manager provider ready', { issuer: `${opts.issuerRef.kind}/${opts.issuerRef.name}`, namespace: opts.namespace, roots: bundle?.roots.length ?? 0 });
      } catch (err) {
        // Not ready, with the reason; trustBundle() polls retry it.
        opts.logger?.warn('trust bundle unavailable', { error: (err as Error).message });
      }
    },
    stop() {
      stopped = true;
      for (const end of [...waiting]) end();
    },
    readiness(): Readiness {
      if (bundle && lastError === undefined) return { ready: true };
      return { ready: false, reason: lastError ?? `trust bundle not read yet from ${trustWhere}` };
    },
    trustBundle,
    async issue(req: CertificateRequest): Promise<IssuedCertificate> {
      if (!KEY_TYPES.includes(req.keyType)) throw issueFailed(`keyType must be one of ${KEY_TYPES.join(', ')}, got ${JSON.stringify(req.keyType)}`);
      let csr;
      try {
        csr = await newCsr(req);
      } catch (err) {
        throw issueFailed(`building the CSR for ${req.commonName.slice(0, 80)}: ${(err as Error).message}`, err);
      }
      return { ...(await request(csr.csrPem, req.commonName, req.validityMs)), privateKey: new SecretValue(csr.keyPem) };
    },
    async sign(req: SignRequest): Promise<SignedCertificate> {
      // cert-manager signs what the CSR asks for, so the CSR must ask for exactly the names the controller decided.
      const names = csrNames(req.csrPem);
      const want = { dns: [...req.dnsNames].sort(), uris: [...req.uris].sort() };
      if (JSON.stringify(names) !== JSON.stringify(want))
        throw issueFailed(`the CSR asks for ${JSON.stringify(names)}, not the decided names ${JSON.stringify(want)}: cert-manager would sign the CSR's names`);
      return request(req.csrPem, req.commonName, req.validityMs);
    },
  };
}
