import type { FastifyPluginAsync } from 'fastify';
import { CORE_VERSION } from '../version.ts';

/** The controller's build (`trellis version` prints it beside the client's), as OSM's `/version`. */
export function serverVersion(): { version: string; node: string; platform: string } {
  return { version: CORE_VERSION, node: process.version, platform: `${process.platform}/${process.arch}` };
}

export const versionRoute: FastifyPluginAsync = async (app) => {
  app.get('/version', async () => serverVersion());
};
