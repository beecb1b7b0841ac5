import net from 'node:net';
import type * as grpc from '@grpc/grpc-js';

/** Node's default listen backlog, which grpc-js's `bindAsync` always uses (it passes none). */
export const NODE_DEFAULT_BACKLOG = 511;
/** Accepted connections handed to grpc-js (and so TLS-handshaken) per event-loop turn; see `listenPaced`. */
export const DEFAULT_ACCEPTS_PER_TURN = 32;

export interface PacedListenOptions {
  /** Kernel accept-queue length asked for; Linux caps it at `net.core.somaxconn`. */
  backlog: number;
  /**
   * TLS connections are paced (queued, handed over `acceptsPerTurn` per turn); plaintext ones are handed over
   * at once, since node:http2 takes a raw socket's handle without starting to read from a paused one.
   */
  tls: boolean;
  acceptsPerTurn?: number;
  /**
   * Admission of TLS connections (the server's connection rate): without a token a connection waits in the
   * queue, accepted and not yet handshaken, instead of being refused after a full handshake and redialled.
   */
  admit?: { tryTake(): boolean };
  /** How long to wait for the next token when `admit` refuses (ms). Default 5. */
  admitRetryMs?: number;
}

export interface PacedListener {
  readonly port: number;
  /** Connections accepted and not yet handed to grpc-js (waiting for their turn). */
  readonly queued: number;
  /**
   * Stops accepting and drops queued connections. Connections already handed over are the grpc-js server's
   * (its shutdown ends them), so this does not wait for them.
   */
  close(): void;
}

/** `host:port` or `[v6]:port` (the config's listen-address form) as net.listen arguments. */
export function parseListenAddress(address: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(address);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new Error(`"${address}" is not host:port`);
  return { host: (m[1] ?? m[2])!, port };
}

/**
 * Listens on a TCP socket we own and feeds its connections to `server` through grpc-js's connection injector,
 * because `bindAsync` listens with Node's default backlog of 511 and offers no option: in a connect storm the
 * kernel's accept queue overflowed and dropped SYNs / reset connections (docs/benchmarks.md, "Connect storm").
 * Connections are accepted as fast as the kernel offers them (so the queue stays short) and handed over
 * `acceptsPerTurn` per event-loop turn, so a burst of thousands does not start thousands of TLS handshakes in
 * one synchronous run while established streams wait for their pushes and keepalive answers; with `admit`,
 * at the server's connection rate.
 */
export async function listenPaced(server: grpc.Server, address: string, creds: grpc.ServerCredentials, options: PacedListenOptions): Promise<PacedListener> {
  const { host, port } = parseListenAddress(address);
  const perTurn = Math.max(1, options.acceptsPerTurn ?? DEFAULT_ACCEPTS_PER_TURN);
  const injector = server.createConnectionInjector(creds);
  const queue: net.Socket[] = [];
  let scheduled = false;
  let waitTimer: NodeJS.Timeout | undefined;
  const drain = () => {
    scheduled = false;
    for (let i = 0; i < perTurn && queue.length > 0; i++) {
      if (queue[0]!.destroyed) {
        queue.shift();
        continue;
      }
      if (options.admit && !options.admit.tryTake()) {
        scheduled = true;
        waitTimer = setTimeout(drain, options.admitRetryMs ?? 5);
        return;
      }
      injector.injectConnection(queue.shift()!);
    }
    if (queue.length > 0) schedule();
  };
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(drain);
  };
  // pauseOnConnect: the socket must not read before TLS takes its handle, or the ClientHello would be consumed
  // into this stream's buffer and lost to the TLS layer.
  const tcp = net.createServer({ pauseOnConnect: options.tls, noDelay: true }, (socket) => {
    if (!options.tls) return injector.injectConnection(socket);
    // A peer that gives up while waiting (reset, timeout) must not become an unhandled 'error'.
    socket.on('error', () => socket.destroy());
    queue.push(socket);
    schedule();
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen({ host, port, backlog: options.backlog }, () => {
      tcp.off('error', reject);
      resolve();
    });
  });
  const bound = tcp.address() as net.AddressInfo;
  return {
    port: bound.port,
    get queued() {
      return queue.length;
    },
    close: () => {
      clearTimeout(waitTimer);
      for (const s of queue.splice(0)) s.destroy();
      if (tcp.listening) tcp.close();
    },
  };
}
