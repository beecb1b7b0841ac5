/**
 * One bookstore workload as a real proxyless gRPC process: its xDS bootstrap comes from GRPC_XDS_BOOTSTRAP
 * (written by `trellis bootstrap grpc`), so Trellis configures its routes, mTLS and RBAC.
 *   workload.ts server <name> <port> [upstream-target]   an xDS-enabled server (optionally calling upstream)
 *   workload.ts client <name> <target> <rate/s>           a client buying books
 */
import * as grpc from '@grpc/grpc-js';
import { bookstoreService, json, PATHS, warehouseService, type EdgeReport } from './services.ts';

process.env.GRPC_XDS_EXPERIMENTAL_RBAC = 'true';
const xds = await import('@grpc/grpc-js-xds');
xds.register();

const [role, name = 'workload', a1 = '', a2 = ''] = process.argv.slice(2);
const edges = new Map<string, EdgeReport & { ok: Record<string, number>; failed: Record<string, number> }>();
const record = (to: string, err: grpc.ServiceError | null, server?: string) => {
  const e = edges.get(to) ?? { from: name, to, ok: {}, failed: {} };
  edges.set(to, e);
  if (err) e.failed[grpc.status[err.code] ?? String(err.code)] = (e.failed[grpc.status[err.code] ?? String(err.code)] ?? 0) + 1;
  else e.ok[server ?? '?'] = (e.ok[server ?? '?'] ?? 0) + 1;
};
setInterval(() => {
  process.send?.({ type: 'report', edges: [...edges.values()] });
  edges.clear();
}, 500).unref();

const xdsClient = (target: string) => new grpc.Client(target, new xds.XdsChannelCredentials(grpc.credentials.createInsecure()));
const call = (client: grpc.Client, path: string, timeoutMs = 2000) =>
  new Promise<{ err: grpc.ServiceError | null; reply?: { server?: string } }>((resolve) =>
    client.makeUnaryRequest(path, json.serialize, json.deserialize as (b: Buffer) => { server?: string }, {}, { deadline: Date.now() + timeoutMs }, (err, reply) =>
      resolve({ err, ...(reply ? { reply } : {}) }),
    ),
  );
const edgeName = (target: string) => target.replace(/^xds:\/\/\//, '').split('.')[0] ?? target;

let stop: () => Promise<void> = async () => undefined;

if (role === 'server') {
  const port = Number(a1);
  const upstream = a2 ? xdsClient(a2) : undefined;
  const server = new xds.XdsServer({ drainGraceTimeMs: 1000 });
  const reply = (server: string) => ({ server });
  if (name.startsWith('bookstore')) {
    server.addService(bookstoreService, {
      BuyBook: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => {
        if (!upstream) return cb(null, reply(name));
        void call(upstream, PATHS.restockBooks).then((r) => {
          record(edgeName(a2), r.err, r.reply?.server);
          cb(null, reply(name));
        });
      },
      BooksBought: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, reply(name)),
    });
  } else {
    server.addService(warehouseService, { RestockBooks: (_c: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, reply(name)) });
  }
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, new xds.XdsServerCredentials(grpc.ServerCredentials.createInsecure()), (err) => (err ? reject(err) : resolve())),
  );
  process.send?.({ type: 'listening', name, port });
  stop = () => new Promise((resolve) => server.tryShutdown(() => resolve()));
} else if (role === 'client') {
  const client = xdsClient(a1);
  const rate = Number(a2) || 10;
  let running = true;
  const loop = async () => {
    while (running) {
      const t0 = Date.now();
      const r = await call(client, PATHS.buyBook);
      record(edgeName(a1), r.err, r.reply?.server);
      await new Promise((res) => setTimeout(res, Math.max(0, 1000 / rate - (Date.now() - t0))));
    }
  };
  void loop();
  stop = async () => {
    running = false;
    client.close();
  };
} else {
  process.stderr.write(`unknown role ${role ?? ''}\n`);
  process.exit(2);
}

const shutdown = () => {
  void stop().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
process.on('disconnect', shutdown);
