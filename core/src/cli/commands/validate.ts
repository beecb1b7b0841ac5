import { isTrellisError } from '@trellis/plugin-sdk';
import { ConfigError, loadConfig } from '../../config/load.ts';
import { defaultParts } from '../../controller/parts.ts';
import { planMesh } from '../../kernel/mesh.ts';
import { requireString, type Command } from '../args.ts';

export const validateCommand: Command = {
  name: 'validate',
  summary: 'Check a config file without starting anything: schema, plugins, plugin configs, cross-checks, the component graph.',
  usage: 'trellis validate --config FILE',
  options: { config: { type: 'string', short: 'c' } },
  async run(values, _pos, io) {
    const file = requireString(values, 'config', this);
    try {
      const cfg = await loadConfig(file);
      const plan = planMesh(cfg, defaultParts);
      if (plan.problems.length) {
        for (const p of plan.problems) io.err(`${p.code} ${p.path}: ${p.message}\n`);
        return 2;
      }
      io.out(`${file}: valid (${cfg.plugins.length} plugin(s): ${cfg.plugins.map((p) => `${p.instanceName} [${p.kind}]`).join(', ')}; start order: ${plan.order.map((n) => n.name).join(' -> ')})\n`);
      return 0;
    } catch (err) {
      if (err instanceof ConfigError) {
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
