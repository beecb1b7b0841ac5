import { resolve } from 'node:path';
import { identityKey, workloadCertFiles } from '@trellis/plugin-sdk';
import { certificateRotated } from '../../certs/index.ts';
import { loadConfig } from '../../config/load.ts';
import { createLogger } from '../../kernel/logger.ts';
import { requireIdentity, requireString, type Command } from '../args.ts';
import { openCertificates, openMeshSettings } from '../plugin-host.ts';
import { writeFilesAtomically } from '../write-files.ts';

export const agentCommand: Command = {
  name: 'agent',
  summary: "Keep a workload's certificate files fresh: re-issue before expiry (and on CA changes) and rewrite them atomically.",
  usage: 'trellis agent --identity <ns>/<sa> --config FILE --dir DIR [--once]',
  options: {
    identity: { type: 'string', short: 'i' },
    config: { type: 'string', short: 'c' },
    dir: { type: 'string', short: 'd' },
    once: { type: 'boolean' },
  },
  async run(values, _pos, io) {
    const identity = requireIdentity(values, this);
    const dir = resolve(requireString(values, 'dir', this));
    const config = await loadConfig(requireString(values, 'config', this));
    const logger = createLogger({ level: config.settings.log.level }).child({ component: 'agent', identity: identityKey(identity) });
    // The mesh's sources keep running: a MeshConfig changing the trust domain re-issues (and rewrites) the files.
    const mesh = await openMeshSettings(config, logger);
    const certs = await openCertificates(config, logger, mesh.settings).catch(async (err: unknown) => {
      await mesh.close();
      throw err;
    });
    const write = async () => {
      const cert = await certs.manager.workload(identity);
      await writeFilesAtomically(dir, workloadCertFiles(cert));
      logger.info('certificate written', { serial: cert.serialNumber, notAfter: cert.notAfter.toISOString(), dir });
    };
    try {
      await write();
      if (values.once) {
        io.out(`wrote ${workloadCertFiles(await certs.manager.workload(identity)).map((f) => f.path).join(', ')} to ${dir}\n`);
        return 0;
      }
      certs.bus.subscribe(
        certificateRotated,
        async (e) => {
          if (e.kind === 'workload' && e.identity && identityKey(e.identity) === identityKey(identity)) await write();
        },
        { name: 'agent' },
      );
      io.err(`trellis agent keeping ${dir} fresh for ${identityKey(identity)}; Ctrl-C to stop\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
    } finally {
      await certs.close();
      await mesh.close();
    }
    return 0;
  },
};
