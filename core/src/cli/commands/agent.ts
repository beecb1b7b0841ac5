import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { backoffDelay, identityKey, parseNodeId, workloadCertFiles, WORKLOAD_CERT_FILES, type BootstrapFile, type IssuedCertificate } from '@trellis/plugin-sdk';
import { stringify } from 'yaml';
import { BootstrapFiles, sdsSecrets } from '@trellis/plugin-proxy-envoy';
import { createLogger } from '../../kernel/logger.ts';
import { requireIdentity, requireString, UsageError, type Command } from '../args.ts';
import { asIssued, identityServerOf, obtain, tokenOf } from '../identity-client.ts';
import { writeFilesAtomically } from '../write-files.ts';

/** Envoy's xDS client certificate files (the names `trellis bootstrap envoy` writes). */
const ENVOY_FILES = { cert: 'tls.crt', key: 'tls.key', ca: 'ca.crt' } as const;

function envoyFiles(c: IssuedCertificate, dir: string): BootstrapFile[] {
  return [
    { path: ENVOY_FILES.key, content: c.privateKey.reveal(), mode: 0o600 },
    { path: ENVOY_FILES.cert, content: c.chainPem, mode: 0o644 },
    { path: ENVOY_FILES.ca, content: c.trustBundlePem, mode: 0o644 },
    // Last: the file-based SDS source Envoy's controller cluster reads (in a pod, nothing else writes it).
    { path: BootstrapFiles.sds, content: stringify(sdsSecrets(dir)), mode: 0o644 },
  ];
}

export const agentCommand: Command = {
  name: 'agent',
  summary: "Keep a workload's certificate fresh through the controller's identity service: the key is made here, only a CSR is sent; renewals authenticate with the current certificate.",
  usage: 'trellis agent --identity <ns>/<sa> --dir DIR (--server host:port | --config FILE) [--ca FILE] [--token T | --token-file F] [--node-id ID] [--once]',
  options: {
    identity: { type: 'string', short: 'i' },
    config: { type: 'string', short: 'c' },
    server: { type: 'string' },
    ca: { type: 'string' },
    token: { type: 'string' },
    'token-file': { type: 'string' },
    'node-id': { type: 'string' },
    dir: { type: 'string', short: 'd' },
    once: { type: 'boolean' },
  },
  async run(values, _pos, io) {
    const identity = requireIdentity(values, this);
    const id = identityKey(identity);
    const dir = resolve(requireString(values, 'dir', this));
    const server = await identityServerOf(values, this);
    // --node-id: this directory holds an Envoy's xDS client certificate for that node (renewed in place).
    const nodeText = values['node-id'] as string | undefined;
    const node = nodeText ? parseNodeId(nodeText) : undefined;
    if (node && 'error' in node) throw new UsageError(`--node-id: ${node.error}`);
    if (node && identityKey(node) !== id) throw new UsageError(`--node-id names ${identityKey(node)}, not --identity ${id}`);
    const files = node ? { cert: join(dir, ENVOY_FILES.cert), key: join(dir, ENVOY_FILES.key), ca: join(dir, ENVOY_FILES.ca) } : { cert: join(dir, WORKLOAD_CERT_FILES.certificate), key: join(dir, WORKLOAD_CERT_FILES.privateKey), ca: join(dir, WORKLOAD_CERT_FILES.ca) };
    const caFile = (values.ca as string | undefined) ?? (existsSync(files.ca) ? files.ca : undefined);
    if (!caFile) throw new UsageError(`--ca FILE is required for a first request (the mesh's trust bundle, to check the controller)`);
    const logger = createLogger({ level: 'info' }).child({ component: 'agent', identity: id });
    const token = await tokenOf(values);

    const renew = async (): Promise<IssuedCertificate> => {
      const caPem = await readFile(existsSync(files.ca) ? files.ca : caFile, 'utf8');
      // The current certificate renews (mTLS); a token is only for the first request or after expiry.
      const current = await currentCertificate(files.cert, files.key);
      const credential = current ? { certificate: current } : token ? { token } : undefined;
      if (!credential) throw new UsageError(`no valid certificate in ${dir} and no join token: pass --token (trellis token create --identity ${id}) or --token-file`);
      const got = asIssued(await obtain(server, caPem, id, credential, node && !('error' in node) ? { uuid: node.uuid, kind: node.kind } : undefined));
      await writeFilesAtomically(dir, node ? envoyFiles(got, dir) : workloadCertFiles(got));
      logger.info('certificate written', { serial: got.serialNumber, notAfter: got.notAfter.toISOString(), dir });
      return got;
    };

    let cert = await renew();
    if (values.once) {
      io.out(`wrote the certificate of ${id} (serial ${cert.serialNumber}, until ${cert.notAfter.toISOString()}) to ${dir}\n`);
      return 0;
    }
    io.err(`trellis agent keeping ${dir} fresh for ${id}; Ctrl-C to stop\n`);
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    let wake: () => void = () => {};
    const stop = () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      wake();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    let failures = 0;
    while (!stopped) {
      const start = cert.notBefore.getTime();
      const end = cert.notAfter.getTime();
      // Renew at 70-80% of the validity (jitter spreads a fleet's renewals), retry failures with backoff.
      const due = failures > 0 ? backoffDelay(failures, { baseMs: 1_000, maxMs: 60_000 }) : Math.max(1_000, start + (end - start) * (0.7 + 0.1 * Math.random()) - Date.now());
      await new Promise<void>((r) => {
        wake = r;
        timer = setTimeout(r, Math.min(due, 2_147_000_000));
      });
      if (stopped) break;
      try {
        cert = await renew();
        failures = 0;
      } catch (err) {
        failures++;
        logger.warn('renewal failed; retrying', { failures, error: (err as Error).message, notAfter: cert.notAfter.toISOString() });
      }
    }
    return 0;
  },
};

/** The certificate and key in the directory while the certificate is still valid (the renewal credential). */
async function currentCertificate(certFile: string, keyFile: string): Promise<{ certPem: string; keyPem: string } | undefined> {
  if (!existsSync(certFile) || !existsSync(keyFile)) return undefined;
  const certPem = await readFile(certFile, 'utf8');
  try {
    const c = new X509Certificate(certPem);
    if (Date.parse(c.validTo) <= Date.now() + 5_000) return undefined;
  } catch {
    return undefined;
  }
  return { certPem, keyPem: await readFile(keyFile, 'utf8') };
}
