import type { FastifyPluginAsync } from 'fastify';
import type { DebugPage } from '@trellis/plugin-sdk';

export type { DebugPage };

/** `get` answers `/debug/<name>` and, when given, `getOne` answers `/debug/<name>/<id>` (undefined -> 404). */
export const debugRoutes =
  (pages: () => readonly DebugPage[]): FastifyPluginAsync =>
  async (app) => {
    app.get('/debug', async () => ({ pages: pages().map((p) => `/debug/${p.name}`) }));
    app.get<{ Params: { name: string } }>('/debug/:name', async (req, reply) => {
      const page = pages().find((p) => p.name === req.params.name);
      if (!page) return reply.code(404).send({ error: `no debug page "${req.params.name}"` });
      return page.get(req.query as Record<string, string | string[]>);
    });
    app.post<{ Params: { name: string } }>('/debug/:name', async (req, reply) => {
      const page = pages().find((p) => p.name === req.params.name);
      if (!page?.post) return reply.code(404).send({ error: `no debug page "${req.params.name}" taking POST` });
      return page.post(req.body);
    });
    app.get<{ Params: { name: string; '*': string } }>('/debug/:name/*', async (req, reply) => {
      const id = req.params['*'];
      const page = pages().find((p) => p.name === req.params.name);
      let decoded: string;
      try {
        decoded = decodeURIComponent(id);
      } catch {
        return reply.code(400).send({ error: `malformed percent-encoding in /debug/${req.params.name}/${id}` });
      }
      const found = page?.getOne?.(decoded);
      if (found === undefined) return reply.code(404).send({ error: `not found: /debug/${req.params.name}/${id}` });
      return found;
    });
  };
