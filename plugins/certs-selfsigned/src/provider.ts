import { createPublicKey } from 'node:crypto';
import { resolve } from 'node:path';
import {
  ErrorCodes,
  KEY_TYPES,
  SecretValue,
  TrellisError,
  type CertificateRequest,
  type CertificatesPlugin,
  type IssuedCertificate,
  type KeyType,
  type Logger,
  type Readiness,
  type SignedCertificate,
  type TrustBundle,
} from '@trellis/plugin-sdk';
import type { CaBackend } from './internal/backend.ts';
import type { CaOptions, CaState, RootRotationPhase } from './internal/ca-store.ts';
import { dirBackend } from './internal/dir-backend.ts';
import { secretBackend, type SecretRef } from './internal/secret-backend.ts';
import { coreApi, type KubeconfigOptions } from './internal/kube.ts';
import { generateKey, signCertificate, type KeyMaterial } from './internal/x509.ts';

export interface SelfSignedOptions {
  /** Absolute state directory; exactly one of `stateDir`, `caSecret`. */
  readonly stateDir?: string;
  /** A Kubernetes Secret holding the CA, shared by every controller replica. */
  readonly caSecret?: SecretRef & KubeconfigOptions;
  readonly caValidityMs: number;
  readonly keyType: KeyType;
  readonly commonName: string;
  readonly logger?: Logger;
  /**
   * Whether this process may create the root CA when `stateDir` has none (default false). The controller
   * does, on its first start; CLI commands never do, so a wrong or missing `stateDir` is an error there
   * instead of a silent new root that nothing else trusts.
   */
  readonly createRoot?: boolean;
}

export interface SelfSignedProvider extends CertificatesPlugin {
  /** One root-rotation step on the shared state (directory or Secret; see docs/certificates.md). */
  rotateRoot(phase: RootRotationPhase): Promise<TrustBundle>;
}

const fail = (message: string, cause?: unknown): TrellisError =>
  new TrellisError(ErrorCodes.CERT_ISSUE_FAILED, `selfsigned: ${message}`, cause === undefined ? {} : { cause });

function validateNames(req: Omit<CertificateRequest, 'keyType'>): void {
  if (!req.commonName || req.commonName.length > 64)
    throw fail(`commonName "${req.commonName.slice(0, 80)}" must be 1-64 characters (X.509 limit), got ${req.commonName.length}`);
  if (!Number.isFinite(req.validityMs) || req.validityMs <= 0) throw fail(`validityMs must be > 0, got ${req.validityMs}`);
  for (const d of req.dnsNames) if (!/^[A-Za-z0-9*]([-A-Za-z0-9.]*[A-Za-z0-9])?$/.test(d)) throw fail(`dnsNames: "${d}" is not a DNS name`);
  for (const u of req.uris) if (!/^[a-z][a-z0-9+.-]*:[\x21-\x7e]+$/i.test(u)) throw fail(`uris: "${u}" is not a URI`);
}

function validate(req: CertificateRequest): void {
  validateNames(req);
  if (!KEY_TYPES.includes(req.keyType)) throw fail(`keyType must be one of ${KEY_TYPES.join(', ')}, got ${JSON.stringify(req.keyType)}`);
}

/** The key kind of a DER SubjectPublicKeyInfo (only EC P-256 and RSA keys are signed). */
function spkiKind(der: Uint8Array): 'ec' | 'rsa' {
  let key;
  try {
    key = createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
  } catch (err) {
    throw fail(`the public key does not parse: ${(err as Error).message}`, err);
  }
  if (key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048) return 'rsa';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ec';
  throw fail(`public key type ${key.asymmetricKeyType ?? 'unknown'} (${JSON.stringify(key.asymmetricKeyDetails ?? {})}) is not signed: use ECDSA P-256 or RSA >= 2048`);
}

function signLeaf(s: CaState, req: Omit<CertificateRequest, 'keyType'>, subjectKey: Pick<KeyMaterial, 'kind' | 'spkiDer'>): SignedCertificate {
  const ca = s.issuing;
  // X.509 times have seconds precision; never outlive the CA.
  const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000);
  const caEnd = new Date(ca.cert.validTo).getTime();
  const notAfter = new Date(Math.min(notBefore.getTime() + Math.ceil(req.validityMs / 1000) * 1000, caEnd));
  const cert = signCertificate({
    subjectKey,
    commonName: req.commonName,
    dnsNames: req.dnsNames,
    uris: req.uris,
    notBefore,
    notAfter,
    isCa: false,
    issuer: { key: ca.key, subjectDer: ca.subjectDer, spkiDer: ca.spkiDer },
  });
  return {
    certificatePem: cert.pem,
    chainPem: cert.pem,
    issuingCaPem: ca.certPem,
    trustBundlePem: s.roots.map((r) => r.certPem).join(''),
    serialNumber: cert.serialHex,
    notBefore,
    notAfter,
  };
}

function backendOf(opts: SelfSignedOptions, caOpts: CaOptions): CaBackend {
  if ((opts.stateDir === undefined) === (opts.caSecret === undefined)) throw new TrellisError(ErrorCodes.PLUGIN_CONFIG_INVALID, 'selfsigned: set exactly one of stateDir, caSecret');
  if (opts.stateDir !== undefined) return dirBackend(resolve(opts.stateDir), caOpts);
  const { namespace, name, ...kube } = opts.caSecret!;
  let api;
  try {
    api = coreApi(kube);
  } catch (err) {
    throw new TrellisError(ErrorCodes.PLUGIN_CONFIG_INVALID, `selfsigned: caSecret: kubeconfig: ${(err as Error).message}`, { path: 'caSecret', cause: err });
  }
  return secretBackend(api, { namespace, name }, caOpts);
}

/**
 * The mesh's own CA, persisted where every process of the mesh finds it: a state directory (CLI and controller
 * on one host) or a Kubernetes Secret (controller replicas).
 */
export function createSelfSignedProvider(opts: SelfSignedOptions): SelfSignedProvider {
  const caOpts: CaOptions = { keyType: opts.keyType, validityMs: opts.caValidityMs, commonName: opts.commonName };
  const backend = backendOf(opts, caOpts);
  const dir = backend.where;
  let state: CaState | undefined;
  let loading: Promise<CaState> | undefined;
  let lastError: string | undefined;

  const ensure = async (): Promise<CaState> => {
    if (state) return state;
    loading ??= backend
      .loadOrCreate(opts.createRoot ?? false)
      .then(({ created, ...s }) => {
        if (created) opts.logger?.warn(`no CA in the ${opts.caSecret ? 'Secret' : 'state directory'}: created a new root CA`, { stateDir: dir, issuer: s.issuing.fingerprint });
        state = s;
        lastError = undefined;
        return s;
      })
      .catch((err: unknown) => {
        lastError = `CA state in ${dir}: ${(err as Error).message}`;
        throw new TrellisError(ErrorCodes.CERT_PROVIDER_UNAVAILABLE, `selfsigned: ${lastError}`, { cause: err });
      })
      .finally(() => {
        loading = undefined;
      });
    return loading;
  };

  /** Picks up a rotation made by another process (the CLI, another replica) sharing the state. */
  const refresh = async (): Promise<CaState> => {
    const s = await ensure();
    let version;
    try {
      version = await backend.version();
    } catch (err) {
      opts.logger?.warn('CA state unreachable; keeping the loaded one', { stateDir: dir, error: (err as Error).message });
      return state ?? s;
    }
    if (version === s.version) return s;
    try {
      state = await backend.load();
      opts.logger?.info('CA state reloaded', { stateDir: dir, issuer: state.issuing.fingerprint, roots: state.roots.length });
    } catch (err) {
      opts.logger?.warn('CA state changed but does not load; keeping the previous one', { stateDir: dir, error: (err as Error).message });
    }
    return state ?? s;
  };

  const bundleOf = (s: CaState): TrustBundle => ({ roots: s.roots.map((r) => r.certPem), issuerId: s.issuing.fingerprint });

  return {
    async start() {
      const s = await ensure();
      opts.logger?.info('self-signed CA ready', { stateDir: dir, issuer: s.issuing.fingerprint, roots: s.roots.length });
    },
    stop() {
      // Nothing to release; idempotent by construction.
    },
    readiness(): Readiness {
      if (state) return { ready: true };
      return { ready: false, reason: lastError ?? `CA not loaded yet from ${dir}` };
    },
    async trustBundle() {
      return bundleOf(await refresh());
    },
    async rotateRoot(phase) {
      try {
        await ensure();
        await backend.rotate(phase);
      } catch (err) {
        if (err instanceof TrellisError) throw err;
        throw new TrellisError(ErrorCodes.CERT_PROVIDER_UNAVAILABLE, `selfsigned: root rotation ${phase} in ${dir}: ${(err as Error).message}`, { cause: err });
      }
      const s = await refresh();
      opts.logger?.info('root rotation step done', { phase, issuer: s.issuing.fingerprint, roots: s.roots.length });
      return bundleOf(s);
    },
    async issue(req): Promise<IssuedCertificate> {
      validate(req);
      const s = await ensure();
      let key;
      try {
        key = await generateKey(req.keyType);
      } catch (err) {
        throw fail(`generating a ${req.keyType} key: ${(err as Error).message}`, err);
      }
      return { ...signLeaf(s, req, key), privateKey: new SecretValue(key.pkcs8Pem()) };
    },
    async sign(req): Promise<SignedCertificate> {
      validateNames(req);
      const kind = spkiKind(req.publicKeyDer);
      return signLeaf(await ensure(), req, { kind, spkiDer: Buffer.from(req.publicKeyDer) });
    },
  };
}
