import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { formatNodeId, identityKey, parseNodeId, type NodeIdentity } from '@trellis/plugin-sdk';
import { loadConfig, type LoadedConfig } from '../../config/load.ts';
import { createLogger } from '../../kernel/logger.ts';
import { requireIdentity, requireString, UsageError, type Command } from '../args.ts';
import { asIssued, identityServerOf, obtain, tokenOf } from '../identity-client.ts';
import { openProxyBackend } from '../plugin-host.ts';
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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const bootstrapCommand: Command = {
  name: 'bootstrap',
  summary:
    "Write a proxy's bootstrap for one identity (`bootstrap envoy` or `bootstrap grpc`), its certificate obtained from the controller's identity service with a join token (the key is made here).",
  usage:
    'trellis bootstrap <envoy|grpc> --identity <ns>/<sa> --config FILE --out DIR --ca FILE (--token T | --token-file F) [--server host:port] [--controller host:port] [--uuid UUID]',
  options: {
    identity: { type: 'string', short: 'i' },
    config: { type: 'string', short: 'c' },
    out: { type: 'string', short: 'o' },
    server: { type: 'string' },
    ca: { type: 'string' },
    token: { type: 'string' },
    'token-file': { type: 'string' },
    controller: { type: 'string' },
    uuid: { type: 'string' },
  },
  async run(values, positionals, io) {
    const backendName = positionals[0];
    if (!backendName) throw new UsageError(`name the proxy backend: trellis bootstrap envoy|grpc ...`);
    const identity = requireIdentity(values, this);
    const out = resolve(requireString(values, 'out', this));
    const config = await loadConfig(requireString(values, 'config', this));
    const caPem = await readFile(requireString(values, 'ca', this), 'utf8');
    const token = await tokenOf(values);
    if (!token) throw new UsageError(`a join token is required: --token (trellis token create --identity ${identityKey(identity)} on the controller's host), --token-file or TRELLIS_JOIN_TOKEN`);
    const uuid = (values.uuid as string | undefined) ?? randomUUID();
    if (!UUID.test(uuid)) throw new UsageError(`--uuid must be a lower-case UUID, got "${uuid}"`);
    const logger = createLogger({ level: 'warn' });
    const backend = await openProxyBackend(config, backendName, logger);
    try {
      if (!backend.bootstrap) throw new UsageError(`proxy backend "${backendName}" does not write bootstraps`);
      const controllerAddress = (values.controller as string | undefined) ?? defaultControllerAddress(config, backend.servesSecrets);
      const server = await identityServerOf(values, this);
      // A proxy that gets its workload certificate over SDS (Envoy) needs an xDS client certificate proving its
      // node id; a proxyless workload reads its workload certificate from the directory instead. The trust
      // domain is the controller's (a MeshConfig may set it).
      const got = await obtain(server, caPem, identityKey(identity), { token }, backend.servesSecrets ? { uuid, kind: backend.nodeKind } : undefined);
      let node: NodeIdentity = { uuid, kind: backend.nodeKind, ...identity, trustDomain: got.trustDomain };
      if (got.nodeId) {
        const parsed = parseNodeId(got.nodeId);
        if ('error' in parsed) throw new Error(`the controller answered a malformed node id: ${parsed.error}`);
        node = parsed;
      }
      const files = await backend.bootstrap({ node, controllerAddress, outDir: out, certificate: asIssued(got) });
      const written = await writeFilesAtomically(out, files);
      io.out(`node id ${formatNodeId(node)}\n${written.map((f) => `wrote ${f}`).join('\n')}\n`);
    } finally {
      await backend.stop?.();
    }
    return 0;
  },
};
