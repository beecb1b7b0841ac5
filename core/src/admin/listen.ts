/** Listening and error answers shared by the controller's HTTP servers (admin, identity service, injector). */
import type { FastifyInstance } from 'fastify';
import type { Logger } from '@trellis/plugin-sdk';

export function splitHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(address.slice(i + 1)) };
}

/** Listens on `address` (port 0: any free one) and returns the base URL it is reachable at. */
export async function listenAt(app: FastifyInstance, address: string, scheme: 'http' | 'https'): Promise<string> {
  const { host, port } = splitHostPort(address);
  await app.listen({ host, port });
  const addr = app.server.address();
  const bound = typeof addr === 'object' && addr ? addr.port : port;
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${bound}`;
}

/**
 * For endpoints workloads reach: a 4xx keeps its message, anything else is logged and answered "internal error",
 * so an internal failure's text (which may name paths or peers) never reaches the caller.
 */
export function hideInternalErrors(app: FastifyInstance, log: Logger, what: string): void {
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    const status = err.statusCode && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) log.error(`${what} failed`, { error: err.message });
    void reply.code(status).send({ error: status === 500 ? 'internal error' : err.message });
  });
}
