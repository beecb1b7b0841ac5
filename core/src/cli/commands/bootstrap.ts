import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { formatNodeId, type NodeIdentity } from '@trellis/plugin-sdk';
import { loadConfig, type LoadedConfig } from '../../config/load.ts';
import { createLogger } from '../../kernel/logger.ts';
import { requireIdentity, requireString, UsageError, type Command } from '../args.ts';
import { openCertificates, openMeshSettings, openProxyBackend } from '../plugin-host.ts';
import { writeFilesAtomically } from '../write-files.ts';

/** Where a proxy should dial: the mTLS port for proxies that get secrets, else the plaintext one. */
function defaultControllerAddress(config: LoadedConfig, mtls: boolean): string {
  if (mtls) return config.settings.xds.address.replace(/^0\.0\.0\.0:/, '127.0.0.1:').replace(/^\[::\]:/, '[::1]:');
  const plain = config.settings.xds.plaintextAddress;
  if (!plain)
    throw new UsageError(
      'proxyless gRPC clients (grpc-js-xds) cannot use TLS to the control plane: set xds.plaintextAddress in the config (same-host mode) or pass --controller host:port',
    );
  return plain;
}

export const bootstrapCommand: Command = {
  name: 'bootstrap',
  summary: "Write a proxy's bootstrap (config + certificate, key and CA) for one identity: `bootstrap envoy` or `bootstrap grpc`.",
  usage: 'trellis bootstrap <envoy|grpc> --identity <ns>/<sa> --config FILE --out DIR [--controller host:port] [--uuid UUID]',
  options: {
    identity: { type: 'string', short: 'i' },
    config: { type: 'string', short: 'c' },
    out: { type: 'string', short: 'o' },
    controller: { type: 'string' },
    uuid: { type: 'string' },
  },
  async run(values, positionals, io) {
    const backendName = positionals[0];
    if (!backendName) throw new UsageError(`name the proxy backend: trellis bootstrap envoy|grpc ...`);
    const identity = requireIdentity(values, this);
    const out = resolve(requireString(values, 'out', this));
    const config = await loadConfig(requireString(values, 'config', this));
    const logger = createLogger({ level: 'warn' });
    const backend = await openProxyBackend(config, backendName, logger);
    if (!backend.bootstrap) throw new UsageError(`proxy backend "${backendName}" does not write bootstraps`);
    // The trust domain in effect (a MeshConfig's, else the config file's), read from the mesh's own sources.
    const mesh = await openMeshSettings(config, logger);
    await mesh.close();
    const node: NodeIdentity = {
      uuid: (values.uuid as string | undefined) ?? randomUUID(),
      kind: backend.nodeKind,
      ...identity,
      trustDomain: mesh.settings.trustDomain(),
    };
    const controllerAddress = (values.controller as string | undefined) ?? defaultControllerAddress(config, backend.servesSecrets);
    const certs = await openCertificates(config, logger, mesh.settings);
    try {
      // A proxy that gets its workload certificate over SDS (Envoy) needs an xDS client certificate proving its
      // node id; a proxyless workload reads its workload certificate from the directory instead.
      const certificate = backend.servesSecrets ? await certs.manager.bootstrap(node) : await certs.manager.workload(identity);
      const files = await backend.bootstrap({ node, controllerAddress, outDir: out, certificate });
      const written = await writeFilesAtomically(out, files);
      io.out(`node id ${formatNodeId(node)}\n${written.map((f) => `wrote ${f}`).join('\n')}\n`);
    } finally {
      await certs.close();
      await backend.stop?.();
    }
    return 0;
  },
};
