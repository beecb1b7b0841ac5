/**
 * `use: cert-manager` — workload certificates through cert-manager: one `CertificateRequest` per issuance
 * (issuerRef, duration, usages; approved by cert-manager's approver or, with `approve: true`, by the
 * controller), Ready awaited with a timeout, Denied/Failed reasons reported; the trust bundle is read from a
 * Secret or ConfigMap key where the issuer's CA is published.
 */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { ErrorCodes, TrellisError, definePlugin, s } from '@trellis/plugin-sdk';
import { kubeApis } from './internal/kube.ts';
import { createCertManagerProvider } from './provider.ts';

export { createCertManagerProvider } from './provider.ts';
export type { CertManagerOptions, IssuerRef, TrustSource } from './provider.ts';
export { kubeApis } from './internal/kube.ts';

/** `~/...` is the home directory; other relative paths are relative to the config file. */
function configPath(p: string, baseDir: string): string {
  if (p === '~' || p.startsWith('~/')) return join(homedir(), p.slice(1));
  return isAbsolute(p) ? p : resolve(baseDir, p);
}

const K8S_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const name = (description: string) => s.string({ minLength: 1, pattern: K8S_NAME, patternHint: 'a Kubernetes object name', description });
const keyRef = (what: string) =>
  s.object({
    name: name(`the ${what}'s name`),
    namespace: s.optional(name(`the ${what}'s namespace (default: \`namespace\`)`)),
    key: s.default(s.string({ minLength: 1, description: 'the data key holding the PEM CA certificates' }), 'ca.crt'),
  });

export const configSchema = s.object({
  namespace: s.optional(name("namespace of the CertificateRequests (default: the kubeconfig context's namespace, else trellis-system)")),
  issuerRef: s.object({
    name: s.string({ minLength: 1, description: 'the issuer to sign with' }),
    kind: s.default(s.string({ minLength: 1, description: '`Issuer` (in `namespace`) or `ClusterIssuer`' }), 'Issuer'),
    group: s.default(s.string({ minLength: 1, description: "the issuer's API group (external issuers have their own)" }), 'cert-manager.io'),
  }),
  usages: s.default(
    s.array(s.string({ minLength: 1, description: 'a cert-manager key usage' }), { minItems: 1, description: 'key usages requested (mTLS needs server auth and client auth)' }),
    ['digital signature', 'key encipherment', 'server auth', 'client auth'],
  ),
  approve: s.default(s.boolean({ description: "set the Approved condition on the controller's own requests (needs the `approve` verb on the issuer's signer); false: wait for cert-manager's approver or a policy approver" }), false),
  timeout: s.default(s.duration({ minMs: 100, description: 'how long a request may take to become Ready' }), 30_000),
  pollInterval: s.default(
    s.duration({ minMs: 10, description: 'a pending request is watched, not polled; after its watch failed or ended it is re-read and watched again after this long' }),
    250,
  ),
  trustBundle: s.refine(
    s.object(
      { secret: s.optional(keyRef('Secret')), configMap: s.optional(keyRef('ConfigMap')) },
      { description: "where the issuer's CA certificates are published: exactly one of `secret`, `configMap` (e.g. the CA issuer's Secret, key ca.crt, or a trust-manager bundle)" },
    ),
    (t) => ((t.secret === undefined) === (t.configMap === undefined) ? 'must set exactly one of secret, configMap' : undefined),
  ),
  kubeconfig: s.optional(
    s.string({ minLength: 1, description: 'kubeconfig file (relative to the config file, `~/` for the home directory); absent: in-cluster service account, then `$KUBECONFIG`, then `~/.kube/config`' }),
  ),
  context: s.optional(s.string({ minLength: 1, description: "kubeconfig context to use (default: the kubeconfig's current context)" })),
});

export default definePlugin({
  name: 'cert-manager',
  kind: 'certificates',
  version: '0.1.0',
  coreRange: '^0.1.0',
  stability: 'alpha',
  description: 'Certificates from cert-manager CertificateRequests (any issuer), trust bundle from a Secret or ConfigMap.',
  configSchema,
  create: (ctx) => {
    const c = ctx.config;
    let apis;
    try {
      apis = kubeApis({ ...(c.kubeconfig !== undefined && { kubeconfig: configPath(c.kubeconfig, ctx.baseDir) }), ...(c.context !== undefined && { context: c.context }) });
    } catch (err) {
      throw new TrellisError(ErrorCodes.PLUGIN_CONFIG_INVALID, `cert-manager: kubeconfig: ${(err as Error).message}`, { path: 'kubeconfig', cause: err });
    }
    const namespace = c.namespace ?? apis.namespace ?? 'trellis-system';
    const ref = c.trustBundle.secret ?? c.trustBundle.configMap!;
    return createCertManagerProvider({
      apis,
      namespace,
      issuerRef: c.issuerRef,
      usages: c.usages,
      approve: c.approve,
      timeoutMs: c.timeout,
      pollMs: c.pollInterval,
      trust: { kind: c.trustBundle.secret ? 'Secret' : 'ConfigMap', namespace: ref.namespace ?? namespace, name: ref.name, key: ref.key },
      logger: ctx.logger,
    });
  },
});
