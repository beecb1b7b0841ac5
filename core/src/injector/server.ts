import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from '@trellis/plugin-sdk';
import { hideInternalErrors, listenAt } from '../admin/listen.ts';
import type { PodInjector } from './admission.ts';

export const MUTATE_PATH = '/mutate-pod-creation';

/** The webhook's HTTPS endpoint (OSM's path); its certificate is the controller's to issue and rotate. */
export class InjectorServer {
  readonly #app: FastifyInstance;
  readonly #address: string;
  readonly #log: Logger;
  #url: string | undefined;

  constructor(o: { address: string; tls: { certPem: string; keyPem: string }; injector: PodInjector; logger: Logger }) {
    this.#address = o.address;
    this.#log = o.logger.child({ component: 'injector-server' });
    this.#app = Fastify({ logger: false, bodyLimit: 4 * 1024 * 1024, https: { cert: o.tls.certPem, key: o.tls.keyPem, minVersion: 'TLSv1.2' } });
    this.#app.post(MUTATE_PATH, async (req, reply) => {
      const r = await o.injector.review(req.body);
      return reply.code(r.status).send(r.body);
    });
    hideInternalErrors(this.#app, this.#log, 'admission request');
  }

  get url(): string | undefined {
    return this.#url;
  }

  async start(): Promise<string> {
    this.#url = await listenAt(this.#app, this.#address, 'https');
    this.#log.info('sidecar injector listening', { url: this.#url });
    return this.#url;
  }

  updateTls(tls: { certPem: string; keyPem: string }): void {
    (this.#app.server as unknown as { setSecureContext(o: object): void }).setSecureContext({ cert: tls.certPem, key: tls.keyPem, minVersion: 'TLSv1.2' });
  }

  async stop(): Promise<void> {
    await this.#app.close();
  }
}
