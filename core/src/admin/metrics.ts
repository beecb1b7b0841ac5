import type { FastifyPluginAsync } from 'fastify';
import type { Metrics } from '@trellis/plugin-sdk';

export const metricsRoutes =
  (metrics: Metrics): FastifyPluginAsync =>
  async (app) => {
    app.get('/metrics', async (_req, reply) => {
      void reply.type('text/plain; version=0.0.4; charset=utf-8');
      return await metrics.exposition();
    });
  };
