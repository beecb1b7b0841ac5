import { createServer, type Server } from 'node:http';
import type { Logger, Metrics, ObservabilityPlugin, Readiness } from '@trellis/plugin-sdk';

export interface MetricsListenerOptions {
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** `host:port`; absent: nothing to listen on (the admin API serves `/metrics`). Port 0 picks a free port. */
  readonly address?: string;
  readonly path: string;
}

const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Serves `GET <path>` (the exposition) and nothing else on its own address. */
export class MetricsListener implements ObservabilityPlugin {
  readonly #o: MetricsListenerOptions;
  #server: Server | undefined;
  #url: string | undefined;

  constructor(opts: MetricsListenerOptions) {
    this.#o = opts;
  }

  /** `http://host:port<path>` once listening. */
  get url(): string | undefined {
    return this.#url;
  }

  async start(): Promise<void> {
    const { address, path, metrics, logger } = this.#o;
    if (!address || this.#server) return;
    const server = createServer((req, res) => {
      const url = (req.url ?? '').split('?')[0];
      if (url !== path || (req.method !== 'GET' && req.method !== 'HEAD')) {
        res.writeHead(url === path ? 405 : 404, { 'content-type': 'text/plain' }).end(url === path ? 'only GET\n' : `metrics are at ${path}\n`);
        return;
      }
      metrics.exposition().then(
        (text) => res.writeHead(200, { 'content-type': CONTENT_TYPE }).end(req.method === 'HEAD' ? undefined : text),
        (err: unknown) => {
          logger.warn('metrics exposition failed', { err: err instanceof Error ? err.message : String(err) });
          res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics exposition failed\n');
        },
      );
    });
    const i = address.lastIndexOf(':');
    const host = address.slice(0, i).replace(/^\[|\]$/g, '');
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new Error(`prometheus: cannot listen on ${address}: ${err.message}`)));
      server.listen(Number(address.slice(i + 1)), host, () => resolve());
    });
    const bound = server.address();
    const port = typeof bound === 'object' && bound ? bound.port : 0;
    this.#server = server;
    this.#url = `http://${host.includes(':') ? `[${host}]` : host}:${port}${path}`;
    logger.info('metrics listener up', { url: this.#url });
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  readiness(): Readiness {
    if (this.#o.address && !this.#server) return { ready: false, reason: `not listening on ${this.#o.address} yet` };
    return { ready: true };
  }
}
