import Fastify, { type FastifyInstance } from 'fastify';
import type { EventBus, Logger, Metrics } from '@trellis/plugin-sdk';
import type { ComponentStatus } from '../kernel/lifecycle.ts';
import { debugRoutes, type DebugPage } from './debug.ts';
import { healthRoutes } from './health.ts';
import { listenAt } from './listen.ts';
import { metricsRoutes } from './metrics.ts';
import { pluginRoutes, type MountedRoute } from './plugin-routes.ts';
import { uiRoutes } from './ui.ts';
import { versionRoute } from './version.ts';

export interface AdminOptions {
  readonly address: string;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly status: () => readonly ComponentStatus[];
  readonly debugPages: () => readonly DebugPage[];
  /** Routes plugins contributed; read when the server starts (after every contributor, by the graph). */
  readonly pluginRoutes?: () => readonly MountedRoute[];
  /** Mesh changes the page at `/ui` is told about (`/ui/events`). */
  readonly bus?: EventBus;
}

/** The admin/debug HTTP API: one fastify plugin per area (health, metrics, debug, the mesh page, plugins' routes). */
export class AdminServer {
  readonly #app: FastifyInstance;
  readonly #opts: AdminOptions;
  #url: string | undefined;

  constructor(opts: AdminOptions) {
    this.#opts = opts;
    this.#app = Fastify({ logger: false });
    void this.#app.register(healthRoutes(opts.status));
    void this.#app.register(metricsRoutes(opts.metrics));
    void this.#app.register(debugRoutes(opts.debugPages));
    void this.#app.register(uiRoutes({ pages: opts.debugPages, ...(opts.bus && { bus: opts.bus }) }));
    void this.#app.register(versionRoute);
    this.#app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
      opts.logger.warn('admin request failed', { err: err.message });
      void reply.code(err.statusCode ?? 500).send({ error: err.message });
    });
  }

  /** The base URL once listening (`http://127.0.0.1:9091`). */
  get url(): string | undefined {
    return this.#url;
  }

  async start(): Promise<void> {
    void this.#app.register(pluginRoutes(this.#opts.pluginRoutes?.() ?? []));
    this.#url = await listenAt(this.#app, this.#opts.address, 'http');
    this.#opts.logger.info('admin server listening', { url: this.#url });
  }

  async stop(): Promise<void> {
    await this.#app.close();
  }
}
