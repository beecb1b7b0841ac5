import type { TLSSocket } from 'node:tls';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from '@trellis/plugin-sdk';
import { hideInternalErrors, listenAt } from '../admin/listen.ts';
import type { Credentials } from './authenticators.ts';
import { IdentityRefused, type IdentityService } from './service.ts';

export interface ServingTls {
  readonly certPem: string;
  readonly keyPem: string;
  /** The trust bundle client certificates (renewals) are checked against. */
  readonly caPem: string;
}

export const IDENTITY_PATH = '/identity/v1/certificates';

/**
 * The identity service over HTTPS. A client certificate is asked for but optional (a first request carries a
 * token instead); one that does not verify against the trust bundle is simply not a credential.
 */
export class IdentityServer {
  readonly #app: FastifyInstance;
  readonly #address: string;
  readonly #log: Logger;
  #url: string | undefined;

  constructor(opts: { address: string; tls: ServingTls; service: IdentityService; logger: Logger }) {
    this.#address = opts.address;
    this.#log = opts.logger.child({ component: 'identity-server' });
    this.#app = Fastify({
      logger: false,
      bodyLimit: 64 * 1024,
      https: { cert: opts.tls.certPem, key: opts.tls.keyPem, ca: opts.tls.caPem, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' },
    });
    this.#app.post(IDENTITY_PATH, async (req, reply) => {
      const socket = req.raw.socket as TLSSocket;
      const creds: Credentials = { ...bearerOf(req.headers.authorization), ...certificateOf(socket) };
      try {
        return await opts.service.issue(req.body, creds, req.ip);
      } catch (err) {
        if (err instanceof IdentityRefused) return reply.code(err.status).send({ error: err.message });
        throw err;
      }
    });
    hideInternalErrors(this.#app, this.#log, 'identity request');
  }

  get url(): string | undefined {
    return this.#url;
  }

  async start(): Promise<string> {
    this.#url = await listenAt(this.#app, this.#address, 'https');
    this.#log.info('identity service listening', { url: this.#url });
    return this.#url;
  }

  /** A rotated serving certificate or a changed trust bundle. */
  updateTls(tls: ServingTls): void {
    (this.#app.server as unknown as { setSecureContext(o: object): void }).setSecureContext({ cert: tls.certPem, key: tls.keyPem, ca: tls.caPem, minVersion: 'TLSv1.2' });
  }

  async stop(): Promise<void> {
    await this.#app.close();
  }
}

function bearerOf(header: string | undefined): Pick<Credentials, 'bearer'> {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return m?.[1] ? { bearer: m[1] } : {};
}

function certificateOf(socket: TLSSocket): Pick<Credentials, 'certificateUris'> {
  if (!socket.authorized) return {};
  const san = socket.getPeerCertificate().subjectaltname ?? '';
  const uris = san
    .split(/,\s*/)
    .filter((e) => e.startsWith('URI:'))
    .map((e) => e.slice(4));
  return { certificateUris: uris };
}
