import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { KEY_TYPES, definePlugin, s } from '@trellis/plugin-sdk';
import { stateDirProblem } from './internal/state-dir.ts';
import { createSelfSignedProvider } from './provider.ts';

export { createSelfSignedProvider } from './provider.ts';
export type { SelfSignedOptions, SelfSignedProvider } from './provider.ts';
export type { RootRotationPhase } from './internal/ca-store.ts';

/** `~/...` is the home directory; other relative paths are relative to the config file. */
function configPath(p: string, baseDir: string): string {
  if (p === '~' || p.startsWith('~/')) return join(homedir(), p.slice(1));
  return isAbsolute(p) ? p : resolve(baseDir, p);
}

const K8S_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export const configSchema = s.object({
  stateDir: s.optional(
    s.string({
      minLength: 1,
      description: 'where the CA is kept (relative to the config file; key files mode 0600); shared by the controller and the CLI; must be readable and writable, or creatable. Exactly one of `stateDir`, `caSecret`',
    }),
  ),
  caSecret: s.optional(
    s.object(
      {
        namespace: s.string({ minLength: 1, pattern: K8S_NAME, patternHint: 'a Kubernetes namespace name', description: "the Secret's namespace (must exist)" }),
        name: s.string({ minLength: 1, pattern: K8S_NAME, patternHint: 'a Kubernetes object name', description: "the Secret's name" }),
        kubeconfig: s.optional(
          s.string({ minLength: 1, description: 'kubeconfig file (relative to the config file, `~/` for the home directory); absent: in-cluster service account, then `$KUBECONFIG`, then `~/.kube/config`' }),
        ),
        context: s.optional(s.string({ minLength: 1, description: "kubeconfig context to use (default: the kubeconfig's current context)" })),
      },
      { description: 'keep the CA in a Kubernetes Secret shared by every controller replica (created once: the first replica wins, the others read it); needs get, create and update on secrets in that namespace' },
    ),
  ),
  caValidity: s.default(s.duration({ minMs: 60_000, description: 'validity of a new root' }), 87_600 * 3_600_000),
  keyType: s.default(s.literal(KEY_TYPES, { description: 'key type of a new root' }), 'ecdsa-p256'),
  commonName: s.default(s.string({ minLength: 1, pattern: /^.{1,64}$/, patternHint: 'at most 64 characters', description: 'CN of a new root' }), 'Trellis Root CA'),
});

/** `use: selfsigned` — the mesh's own CA, persisted in `stateDir` or in a Kubernetes Secret (`caSecret`). */
export default definePlugin({
  name: 'selfsigned',
  kind: 'certificates',
  version: '0.1.0',
  coreRange: '^0.1.0',
  stability: 'beta',
  description: "The mesh's own CA (ECDSA P-256 or RSA), persisted in a state directory shared by the CLI and the controller, or in a Kubernetes Secret shared by replicas.",
  configSchema,
  validateConfig: (config, { baseDir }) => {
    if ((config.stateDir === undefined) === (config.caSecret === undefined)) return [{ path: [], message: 'set exactly one of stateDir, caSecret' }];
    if (config.stateDir === undefined) return [];
    const problem = stateDirProblem(resolve(baseDir, config.stateDir));
    return problem ? [{ path: ['stateDir'], message: problem }] : [];
  },
  create: (ctx) =>
    createSelfSignedProvider({
      ...(ctx.config.stateDir !== undefined && { stateDir: resolve(ctx.baseDir, ctx.config.stateDir) }),
      ...(ctx.config.caSecret !== undefined && {
        caSecret: {
          namespace: ctx.config.caSecret.namespace,
          name: ctx.config.caSecret.name,
          ...(ctx.config.caSecret.kubeconfig !== undefined && { kubeconfig: configPath(ctx.config.caSecret.kubeconfig, ctx.baseDir) }),
          ...(ctx.config.caSecret.context !== undefined && { context: ctx.config.caSecret.context }),
        },
      }),
      caValidityMs: ctx.config.caValidity,
      keyType: ctx.config.keyType,
      commonName: ctx.config.commonName,
      logger: ctx.logger,
      // The host says whether this process may create the root (the controller: yes; CLI commands: no).
      createRoot: ctx.createState === true,
    }),
});
