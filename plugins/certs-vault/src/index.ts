import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ErrorCodes, TrellisError, definePlugin, s } from '@trellis/plugin-sdk';
import { createVaultProvider, type VaultAuth } from './provider.ts';

export { DEFAULT_RETRY_MAX_DELAY_MS, createVaultProvider } from './provider.ts';
export type { VaultAuth, VaultOptions } from './provider.ts';

const authSchema = s.refine(
  s.object({
    token: s.optional(s.secret(s.string({ minLength: 1, description: 'a Vault token (secret: redacted by `trellis config print`)' }))),
    kubernetes: s.optional(
      s.object(
        {
          role: s.string({ minLength: 1, description: 'Vault role of the Kubernetes auth method' }),
          jwtPath: s.default(s.string({ minLength: 1, description: "the service-account token to log in with (default: the pod's)" }), '/var/run/secrets/kubernetes.io/serviceaccount/token'),
          mount: s.default(s.string({ minLength: 1, description: 'mount of the Kubernetes auth method' }), 'kubernetes'),
        },
        { description: 'log in via `POST /v1/auth/<mount>/login`, and once more on a 403' },
      ),
    ),
  }, { description: 'exactly one of `token`, `kubernetes`' }),
  (a) => ((a.token === undefined) === (a.kubernetes === undefined) ? 'must set exactly one of token, kubernetes' : undefined),
);

export const configSchema = s.object({
  address: s.string({ pattern: /^https?:\/\/[^\s/]+/, patternHint: 'an http(s):// URL, e.g. https://vault.vault.svc:8200', description: "Vault's address" }),
  mount: s.default(
    s.string({ minLength: 1, pattern: /^[^/\s]+(\/[^/\s]+)*$/, patternHint: 'a mount path without leading or trailing slashes', description: 'PKI secrets engine mount' }),
    'pki',
  ),
  role: s.string({ minLength: 1, description: 'PKI role; issues via `POST /v1/<mount>/issue/<role>`, signs workload CSRs via `POST /v1/<mount>/sign/<role>`' }),
  auth: authSchema,
  namespace: s.optional(s.string({ minLength: 1, description: 'Vault Enterprise namespace (`X-Vault-Namespace`)' })),
  caFile: s.optional(s.string({ minLength: 1, description: 'PEM file of the CA for TLS to Vault (relative to the config file)' })),
  timeout: s.default(s.duration({ minMs: 1, description: 'per request' }), 10_000),
  retries: s.default(
    s.object(
      {
        max: s.default(s.number({ integer: true, min: 0, max: 20, description: 'retries at most' }), 4),
        baseDelay: s.default(s.duration({ description: 'first delay; doubles each retry, with jitter' }), 200),
      },
      { description: 'retries of 5xx, timeouts and connection errors' },
    ),
    { max: 4, baseDelay: 200 },
  ),
});

/** `use: vault` — Vault's PKI secrets engine issues the mesh's certificates. */
export default definePlugin({
  name: 'vault',
  kind: 'certificates',
  version: '0.1.0',
  coreRange: '^0.1.0',
  stability: 'beta',
  description: 'Certificates from HashiCorp Vault PKI (token or Kubernetes auth, namespaces, custom CA).',
  configSchema,
  create: (ctx) => {
    const c = ctx.config;
    let caPem: string | undefined;
    if (c.caFile) {
      const path = resolve(ctx.baseDir, c.caFile);
      try {
        caPem = readFileSync(path, 'utf8');
      } catch (err) {
        throw new TrellisError(ErrorCodes.PLUGIN_CONFIG_INVALID, `caFile: cannot read ${path}: ${(err as Error).message}`, { path: 'caFile', cause: err });
      }
    }
    const auth: VaultAuth = c.auth.kubernetes
      ? { kubernetes: { role: c.auth.kubernetes.role, jwtPath: resolve(ctx.baseDir, c.auth.kubernetes.jwtPath), mount: c.auth.kubernetes.mount } }
      : { token: c.auth.token ?? '' };
    return createVaultProvider({
      address: c.address,
      mount: c.mount,
      role: c.role,
      auth,
      ...(c.namespace ? { namespace: c.namespace } : {}),
      ...(caPem ? { caPem } : {}),
      timeoutMs: c.timeout,
      retries: { max: c.retries.max, baseDelayMs: c.retries.baseDelay },
      logger: ctx.logger,
    });
  },
});
