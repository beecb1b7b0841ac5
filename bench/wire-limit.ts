/**
 * The wire-limit baseline run: the same simulated proxies reconnect to a bare grpc-js server (bench/
 * wire-server.ts) and it pushes each requested payload size to every stream, timing until all ACKs are back.
 */
import 'reflect-metadata';
import { createSelfSignedProvider } from '@trellis/plugin-certs-selfsigned';
import { ChildRpc } from './child-rpc.ts';
import type { Clients } from './client-pool.ts';
import type { ClientStats, ConnectResult } from './clients-protocol.ts';

export interface WirePush {
  streams: number;
  bytesPerStream: number;
  ms: number;
  acked: number;
}

type WireCmd = { op: string; id: number } & Record<string, unknown>;

/**
 * Connects `streams` proxies (indexes 0..streams-1, certificates already issued) to a fresh wire server and
 * measures one push per entry of `sizes` (bytes per stream). The clients must be disconnected from the controller.
 */
export interface WireLimit {
  /** Every proxy connected (TLS + HTTP/2 + stream) and answered CDS/LDS by the bare server: the storm's floor. */
  connectMs: number;
  notConnected: number;
  /** Connections reset / refused / timed out while connecting (retried), as in the storm's `resets`. */
  resets: number;
  /** CPU the bare server and the client processes used for the connect (load-independent, unlike `connectMs`). */
  connectCpuSeconds: number;
  connectClientCpuSeconds: number;
  pushes: WirePush[];
}

const round2 = (x: number) => Math.round(x * 100) / 100;

export async function measureWireLimit(clients: Clients, caDir: string, streams: number, pushes: { streams: number; bytes: number }[]): Promise<WireLimit> {
  const provider = createSelfSignedProvider({ stateDir: caDir, caValidityMs: 87_600 * 3_600_000, keyType: 'ecdsa-p256', commonName: 'Trellis Root CA', createRoot: true });
  await provider.start?.();
  const cert = await provider.issue({ commonName: 'localhost', dnsNames: ['localhost'], uris: [], validityMs: 86_400_000, keyType: 'ecdsa-p256' });
  const caPem = (await provider.trustBundle()).roots.join('');
  const wire = new ChildRpc<WireCmd>('wire-server.ts');
  try {
    const port = await wire.call<number>({ op: 'start', caPem, certPem: cert.chainPem, keyPem: cert.privateKey.reveal() });
    const cpu0 = await wire.call<number>({ op: 'cpu' });
    const client0 = (await clients.call<ClientStats>({ op: 'stats' })).cpuSeconds;
    const c = await clients.call<ConnectResult>({ op: 'connect', address: `127.0.0.1:${port}`, delta: false, timeoutMs: Math.max(60_000, streams * 20), from: 0, to: streams });
    const connectCpuSeconds = (await wire.call<number>({ op: 'cpu' })) - cpu0;
    const connectClientCpuSeconds = (await clients.call<ClientStats>({ op: 'stats' })).cpuSeconds - client0;
    // Pushes go to the streams that did connect; `notConnected` says how many did not.
    const notConnected = c.notReady;
    await wire.call({ op: 'push', bytes: 1000, timeoutMs: 30_000 }); // warm-up
    const out: WirePush[] = [];
    for (const p of pushes) {
      const r = await wire.call<{ ms: number; streams: number; acked: number; bytesPerStream: number }>({
        op: 'push',
        bytes: Math.max(100, Math.round(p.bytes)),
        limit: Math.max(1, Math.round(p.streams)),
        timeoutMs: 60_000,
      });
      out.push({ streams: r.streams, bytesPerStream: r.bytesPerStream, ms: Math.round(r.ms * 10) / 10, acked: r.acked });
    }
    return { connectMs: Math.round(c.allReadyMs * 10) / 10, notConnected, resets: c.resets, connectCpuSeconds: round2(connectCpuSeconds), connectClientCpuSeconds: round2(connectClientCpuSeconds), pushes: out };
  } finally {
    await clients.call({ op: 'close' });
    await wire.close();
  }
}
