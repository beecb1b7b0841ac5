import { resolve } from 'node:path';
import { KEY_TYPES, definePlugin, s } from '@trellis/plugin-sdk';
import { stateDirProblem } from './internal/state-dir.ts';
import { createSelfSignedProvider } from './provider.ts';

export { createSelfSignedProvider } from './provider.ts';
export type { SelfSignedOptions, SelfSignedProvider } from './provider.ts';
export type { RootRotationPhase } from './internal/ca-store.ts';

export const configSchema = s.object({
  stateDir: s.string({
    minLength: 1,
    description: 'where the CA is kept (relative to the config file; key files mode 0600); shared by the controller and the CLI; must be readable and writable, or creatable',
  }),
  caValidity: s.default(s.duration({ minMs: 60_000, description: 'validity of a new root' }), 87_600 * 3_600_000),
  keyType: s.default(s.literal(KEY_TYPES, { description: 'key type of a new root' }), 'ecdsa-p256'),
  commonName: s.default(s.string({ minLength: 1, pattern: /^.{1,64}$/, patternHint: 'at most 64 characters', description: 'CN of a new root' }), 'Trellis Root CA'),
});

/** `use: selfsigned` — the mesh's own CA, persisted in `stateDir`. */
export default definePlugin({
  name: 'selfsigned',
  kind: 'certificates',
  version: '0.1.0',
  coreRange: '^0.1.0',
  stability: 'beta',
  description: "The mesh's own CA (ECDSA P-256 or RSA), persisted in a state directory shared by the CLI and the controller.",
  configSchema,
  validateConfig: (config, { baseDir }) => {
    const problem = stateDirProblem(resolve(baseDir, config.stateDir));
    return problem ? [{ path: ['stateDir'], message: problem }] : [];
  },
  create: (ctx) =>
    createSelfSignedProvider({
      stateDir: resolve(ctx.baseDir, ctx.config.stateDir),
      caValidityMs: ctx.config.caValidity,
      keyType: ctx.config.keyType,
      commonName: ctx.config.commonName,
      logger: ctx.logger,
      // The host says whether this process may create the root (the controller: yes; CLI commands: no).
      createRoot: ctx.createState === true,
    }),
});
