/**
 * The mesh page at `/ui`: the static files @trellis/ui built, and `/ui/events`, a server-sent event stream
 * that says "the mesh changed, refetch /debug/topology". Store changes arrive on the bus; policy statuses and
 * proxy sync states do not (an invalid update changes no object), so while a page is connected their
 * fingerprint is also compared every `statusPollMs`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsync } from 'fastify';
import type { EventBus } from '@trellis/plugin-sdk';
import { uiAssetFiles, uiAssetsDir } from '@trellis/ui';
import { meshChanged } from '../store/index.ts';
import type { DebugPage } from './debug.ts';

export interface UiRoutesOptions {
  readonly bus?: EventBus;
  readonly pages: () => readonly DebugPage[];
  /** Where the built page is (default: @trellis/ui's dist/assets). */
  readonly assetsDir?: string;
  /** Bursts of store changes become one event per this many ms. */
  readonly coalesceMs?: number;
  readonly statusPollMs?: number;
  /** Comment lines that keep idle connections open through proxies. */
  readonly keepAliveMs?: number;
  /** Open event streams at most; more get 503 (each one costs a status fingerprint per poll). */
  readonly maxClients?: number;
}

const CONTENT_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

/** JSON of the pages whose changes emit no store event: policy statuses and proxies. */
function statusFingerprint(pages: () => readonly DebugPage[]): string {
  const of = (name: string): unknown => pages().find((p) => p.name === name)?.get();
  return JSON.stringify([of('policies'), of('proxies')]);
}

export const uiRoutes =
  (opts: UiRoutesOptions): FastifyPluginAsync =>
  async (app) => {
    const dir = opts.assetsDir ?? uiAssetsDir;
    const coalesceMs = opts.coalesceMs ?? 100;
    const statusPollMs = opts.statusPollMs ?? 1000;
    const keepAliveMs = opts.keepAliveMs ?? 15_000;
    const maxClients = opts.maxClients ?? 64;
    const clients = new Set<ServerResponse>();
    let seq = 0;
    let pending: ReturnType<typeof setTimeout> | undefined;
    let poll: ReturnType<typeof setInterval> | undefined;
    let keepAlive: ReturnType<typeof setInterval> | undefined;
    let lastStatus = '';

    const send = (res: ServerResponse, event: string, data: unknown): void => {
      res.write(`id: ${seq}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    const broadcast = (reason: string): void => {
      seq++;
      for (const res of clients) send(res, 'change', { reason, seq });
    };
    const schedule = (reason: string): void => {
      if (pending || clients.size === 0) return;
      pending = setTimeout(() => {
        pending = undefined;
        broadcast(reason);
      }, coalesceMs);
      pending.unref();
    };
    const unsubscribe = opts.bus?.subscribe(meshChanged, () => schedule('mesh'), { name: 'admin-ui' });
    const startTimers = (): void => {
      if (poll) return;
      lastStatus = statusFingerprint(opts.pages);
      poll = setInterval(() => {
        const now = statusFingerprint(opts.pages);
        if (now !== lastStatus) {
          lastStatus = now;
          schedule('status');
        }
      }, statusPollMs);
      poll.unref();
      keepAlive = setInterval(() => {
        for (const res of clients) res.write(': keep-alive\n\n');
      }, keepAliveMs);
      keepAlive.unref();
    };
    const stopTimers = (): void => {
      clearInterval(poll);
      clearInterval(keepAlive);
      poll = keepAlive = undefined;
    };

    // Open streams would keep `close()` waiting: end them first.
    app.addHook('preClose', async () => {
      unsubscribe?.();
      stopTimers();
      clearTimeout(pending);
      for (const res of clients) res.end();
      clients.clear();
    });

    app.get('/ui', async (_req, reply) => reply.redirect('/ui/', 302));
    app.get('/ui/events', (req, reply) => {
      if (req.method === 'HEAD') return reply.type('text/event-stream; charset=utf-8').send();
      if (clients.size >= maxClients) return reply.code(503).send({ error: `too many open /ui/events streams (${maxClients})` });
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      res.write('retry: 2000\n\n');
      clients.add(res);
      startTimers();
      send(res, 'hello', { seq });
      req.raw.on('close', () => {
        clients.delete(res);
        if (clients.size === 0) stopTimers();
      });
      return reply;
    });
    app.get<{ Params: { '*': string } }>('/ui/*', async (req, reply) => {
      const file = req.params['*'] === '' ? 'index.html' : req.params['*'];
      // Only the files the build writes: no path from the request reaches the file system.
      if (!uiAssetFiles.includes(file)) return reply.code(404).send({ error: `no such file: /ui/${file}` });
      let body: Buffer;
      try {
        body = await readFile(join(dir, file));
      } catch {
        return reply.code(503).send({ error: `the mesh page is not built (${join(dir, file)} is missing): run \`npm run build\`` });
      }
      return reply
        .type(CONTENT_TYPES[file.slice(file.lastIndexOf('.') + 1)] ?? 'application/octet-stream')
        .header('cache-control', 'no-cache')
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; worker-src 'self' blob:")
        .send(body);
    });
  };
