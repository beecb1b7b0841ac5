import { request } from 'node:https';
import type { SecretValue } from '@trellis/plugin-sdk';
import { createWorkloadKey } from './csr.ts';
import { IDENTITY_PATH } from './server.ts';
import type { IssueResponse } from './service.ts';

export interface IdentityClientOptions {
  /** `https://host:port` of the controller's identity service. */
  readonly server: string;
  /** The mesh's trust bundle (PEM): the controller's serving certificate must chain to it. */
  readonly caPem: string;
  /** The TLS name the controller's certificate carries (default `trellis-controller`... see CONTROLLER_SERVER_NAME). */
  readonly serverName: string;
}

export interface Credential {
  /** A join token or projected ServiceAccount token, sent as a Bearer. */
  readonly token?: string;
  /** The workload's current certificate and key (renewal, mTLS). */
  readonly certificate?: { readonly certPem: string; readonly keyPem: string };
}

export interface ObtainedCertificate extends IssueResponse {
  readonly privateKey: SecretValue;
}

export class IdentityRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Asks the controller for a certificate: makes a key here, sends only its CSR. A refusal is an
 * `IdentityRequestError` carrying the controller's reason.
 */
export async function requestCertificate(
  opts: IdentityClientOptions,
  identity: string,
  credential: Credential,
  node?: { uuid: string; kind: string },
): Promise<ObtainedCertificate> {
  const key = await createWorkloadKey(identity.replace('/', '.'));
  const body = JSON.stringify({ identity, csr: key.csrPem, ...(node ? { node } : {}) });
  const url = new URL(IDENTITY_PATH, opts.server);
  const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        ca: opts.caPem,
        servername: opts.serverName,
        checkServerIdentity: (_host, cert) => checkName(cert.subjectaltname ?? '', opts.serverName),
        ...(credential.certificate ? { cert: credential.certificate.certPem, key: credential.certificate.keyPem } : {}),
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...(credential.token ? { authorization: `Bearer ${credential.token}` } : {}),
        },
        timeout: 15_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url.origin} within 15 s`)));
    req.on('error', reject);
    req.end(body);
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new IdentityRequestError(status, `identity service at ${url.origin} answered ${status} with a non-JSON body`);
  }
  if (status !== 200) throw new IdentityRequestError(status, `identity service at ${url.origin} refused (${status}): ${(parsed as { error?: string }).error ?? text.slice(0, 200)}`);
  return { ...(parsed as IssueResponse), privateKey: key.privateKey };
}

function checkName(san: string, name: string): Error | undefined {
  return san.split(/,\s*/).includes(`DNS:${name}`) ? undefined : new Error(`the controller's certificate does not name ${name} (${san})`);
}
