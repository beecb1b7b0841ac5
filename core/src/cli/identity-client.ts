import { readFile } from 'node:fs/promises';
import { CONTROLLER_SERVER_NAME, type IssuedCertificate } from '@trellis/plugin-sdk';
import { loadConfig } from '../config/load.ts';
import { requestCertificate, type Credential, type ObtainedCertificate } from '../identity/index.ts';
import { UsageError, type Command } from './args.ts';

/** `--server`, else the config's `identity.address` (a wildcard bind reached on loopback). */
export async function identityServerOf(values: Record<string, unknown>, cmd: Command): Promise<string> {
  if (typeof values.server === 'string' && values.server) return values.server.startsWith('https://') ? values.server : `https://${values.server}`;
  if (typeof values.config === 'string' && values.config) {
    const address = (await loadConfig(values.config)).settings.identity.address;
    if (address) return `https://${address.replace(/^0\.0\.0\.0:/, '127.0.0.1:').replace(/^\[::\]:/, '[::1]:')}`;
  }
  throw new UsageError(`name the controller's identity service: --server host:port (or --config FILE with identity.address set)\n\nUsage: ${cmd.usage}`);
}

/** The credential: `--token`, `--token-file`, or `TRELLIS_JOIN_TOKEN`. */
export async function tokenOf(values: Record<string, unknown>): Promise<string | undefined> {
  if (typeof values.token === 'string' && values.token) return values.token;
  if (typeof values['token-file'] === 'string' && values['token-file']) return (await readFile(values['token-file'], 'utf8')).trim();
  return process.env.TRELLIS_JOIN_TOKEN || undefined;
}

export async function obtain(server: string, caPem: string, identity: string, credential: Credential, node?: { uuid: string; kind: string }): Promise<ObtainedCertificate> {
  return requestCertificate({ server, caPem, serverName: CONTROLLER_SERVER_NAME }, identity, credential, node);
}

/** The certificate in the shape proxy backends write (the key was made here). */
export function asIssued(c: ObtainedCertificate): IssuedCertificate {
  const firstRoot = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/.exec(c.trustBundlePem)?.[0] ?? c.trustBundlePem;
  return {
    certificatePem: c.certificateChainPem,
    chainPem: c.certificateChainPem,
    privateKey: c.privateKey,
    issuingCaPem: firstRoot,
    trustBundlePem: c.trustBundlePem,
    serialNumber: c.serialNumber,
    notBefore: new Date(c.notBefore),
    notAfter: new Date(c.notAfter),
  };
}
