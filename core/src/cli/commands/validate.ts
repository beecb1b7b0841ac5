import { isTrellisError } from '@trellis/plugin-sdk';
import { ConfigError, loadConfig, type ConfigWarning } from '../../config/load.ts';
import { defaultParts } from '../../controller/parts.ts';
import { planMesh } from '../../kernel/mesh.ts';
import { requireString, type CliIO, type Command } from '../args.ts';

/** Warnings go to stderr like errors, marked as such; they do not change the exit code. */
function printWarnings(warnings: readonly ConfigWarning[], io: CliIO): void {
  for (const w of warnings) io.err(`warning ${w.code} ${w.path}: ${w.message}\n`);
}

export const validateCommand: Command = {
  name: 'validate',
  summary: 'Check a config file without starting anything: schema, plugins, plugin configs, cross-checks, the component graph (warnings do not fail it).',
  usage: 'trellis validate --config FILE',
  options: { config: { type: 'string', short: 'c' } },
  async run(values, _pos, io) {
    const file = requireString(values, 'config', this);
    try {
      const cfg = await loadConfig(file);
      printWarnings(cfg.warnings ?? [], io);
      const plan = planMesh(cfg, defaultParts);
      if (plan.problems.length) {
        for (const p of plan.problems) io.err(`${p.code} ${p.path}: ${p.message}\n`);
        return 2;
      }
      io.out(`${file}: valid (${cfg.plugins.length} plugin(s): ${cfg.plugins.map((p) => `${p.instanceName} [${p.kind}]`).join(', ')}; start order: ${plan.order.map((n) => n.name).join(' -> ')})\n`);
      return 0;
    } catch (err) {
      if (err instanceof ConfigError) {
        printWarnings(err.warnings, io);
        for (const p of err.problems) io.err(`${p.code} ${p.path ? `${p.path}: ` : ''}${p.message}\n`);
        return 2;
      }
      if (isTrellisError(err)) {
        io.err(`${err.code} ${err.message}\n`);
        return 2;
      }
      throw err;
    }
  },
};
