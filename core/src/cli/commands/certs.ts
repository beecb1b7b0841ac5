import type { TrustBundle } from '@trellis/plugin-sdk';
import { loadConfig } from '../../config/load.ts';
import { createLogger } from '../../kernel/logger.ts';
import { requireString, UsageError, type Command } from '../args.ts';
import { openCertificates } from '../plugin-host.ts';

const PHASES = ['prepare', 'promote', 'retire'] as const;
type Phase = (typeof PHASES)[number];

interface RotatesRoot {
  rotateRoot(phase: Phase): Promise<TrustBundle>;
}

export const certsCommand: Command = {
  name: 'certs rotate-root',
  summary: "One step of a root CA rotation on the provider's shared state (prepare, promote, retire; see docs/certificates.md).",
  usage: 'trellis certs rotate-root <prepare|promote|retire> --config FILE',
  options: { config: { type: 'string', short: 'c' } },
  async run(values, positionals, io) {
    const phase = positionals[0] as Phase | undefined;
    if (!phase || !PHASES.includes(phase)) throw new UsageError(`name the step: ${PHASES.join(' | ')}`);
    const config = await loadConfig(requireString(values, 'config', this));
    const certs = await openCertificates(config, createLogger({ level: 'warn' }));
    try {
      const provider = certs.provider as Partial<RotatesRoot>;
      if (typeof provider.rotateRoot !== 'function')
        throw new UsageError(`the configured certificates plugin does not rotate roots itself (rotate the root in the provider, e.g. Vault, instead)`);
      const bundle = await provider.rotateRoot(phase);
      io.out(`${phase}: done; ${bundle.roots.length} trusted root(s), issuer ${bundle.issuerId}\n`);
    } finally {
      await certs.close();
    }
    return 0;
  },
};
