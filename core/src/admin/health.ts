import type { FastifyPluginAsync } from 'fastify';
import type { ComponentStatus } from '../kernel/lifecycle.ts';

/** `/livez` never checks dependencies (a stuck dependency must not get the controller restarted). */
export const healthRoutes =
  (status: () => readonly ComponentStatus[]): FastifyPluginAsync =>
  async (app) => {
    app.get('/livez', async () => ({ status: 'ok' }));
    app.get<{ Querystring: { verbose?: string } }>('/readyz', async (req, reply) => {
      const checks = status();
      const ready = checks.length > 0 && checks.every((c) => c.ready);
      void reply.code(ready ? 200 : 503);
      if (req.query.verbose === undefined) return { status: ready ? 'ready' : 'not ready' };
      return {
        status: ready ? 'ready' : 'not ready',
        checks: checks.map((c) => ({ name: c.name, type: c.type, state: c.state, ready: c.ready, ...(c.reason ? { reason: c.reason } : {}) })),
      };
    });
  };
