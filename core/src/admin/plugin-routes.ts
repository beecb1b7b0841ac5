import type { FastifyPluginAsync } from 'fastify';
import type { AdminRoute } from '@trellis/plugin-sdk';

/** A plugin's admin route with the instance it came from; mounted at `/plugins/<plugin>/<path>`. */
export interface MountedRoute {
  readonly plugin: string;
  readonly route: AdminRoute;
}

const asStrings = (v: unknown): Record<string, string> =>
  Object.fromEntries(Object.entries((v ?? {}) as Record<string, unknown>).map(([k, x]) => [k, String(x)]));

/** Routes plugins contributed to `extensionPoints.adminRoutes`, each under its plugin's own prefix. */
export const pluginRoutes =
  (routes: readonly MountedRoute[]): FastifyPluginAsync =>
  async (app) => {
    for (const { plugin, route } of routes) {
      app.route({
        method: route.method,
        url: `/plugins/${plugin}/${route.path.replace(/^\/+/, '')}`,
        handler: async (req, reply) => {
          const res = await route.handler({ params: asStrings(req.params), query: asStrings(req.query), body: req.body });
          return reply.code(res.status ?? 200).send(res.body);
        },
      });
    }
  };
