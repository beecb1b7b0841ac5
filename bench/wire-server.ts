/**
 * The wire-limit baseline (forked by bench/main.ts): a bare @grpc/grpc-js ADS server with no policy, no
 * snapshots, no per-proxy work. It answers the first CDS/LDS requests with empty responses (so simulated
 * proxies count as configured) and on command pushes one pre-encoded response of a given size to every open
 * stream, timing until every stream has ACKed it. Push figures of the controller are divided by these.
 * It listens exactly as the controller does (xds.listenPaced, the same backlog, channelz off), so the connect
 * baseline differs from the controller by the per-proxy work only, not by a shorter accept queue.
 */
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { xds } from '@trellis/core';
import { CHILD_READY } from './child-rpc.ts';

const SERVICE = '/envoy.service.discovery.v3.AggregatedDiscoveryService';
const BLOB = 'type.googleapis.com/bench.Blob';

type Cmd =
  | { op: 'start'; id: number; caPem: string; certPem: string; keyPem: string }
  | { op: 'push'; id: number; bytes: number; timeoutMs: number; limit?: number }
  | { op: 'streams'; id: number }
  | { op: 'cpu'; id: number }
  | { op: 'exit'; id: number };

const streams = new Set<grpc.ServerDuplexStream<Buffer, Buffer>>();
let current: { nonce: string; acked: number; want: number; done: () => void } | undefined;
let seq = 0;

function decodeRequest(buf: Buffer): { typeUrl: string; nonce: string } {
  const r = protobuf.Reader.create(buf);
  let typeUrl = '';
  let nonce = '';
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 4) typeUrl = r.string();
    else if (tag >>> 3 === 5) nonce = r.string();
    else r.skipType(tag & 7);
  }
  return { typeUrl, nonce };
}

function response(typeUrl: string, version: string, nonce: string, payload?: Uint8Array): Buffer {
  const w = protobuf.Writer.create();
  w.uint32((1 << 3) | 2).string(version);
  if (payload) w.uint32((2 << 3) | 2).fork().uint32((1 << 3) | 2).string(BLOB).uint32((2 << 3) | 2).bytes(payload).ldelim();
  w.uint32((4 << 3) | 2).string(typeUrl);
  w.uint32((5 << 3) | 2).string(nonce);
  return Buffer.from(w.finish());
}

const passthrough = (b: Buffer) => b;
const definition = {
  StreamAggregatedResources: {
    path: `${SERVICE}/StreamAggregatedResources`,
    requestStream: true,
    responseStream: true,
    requestSerialize: passthrough,
    requestDeserialize: passthrough,
    responseSerialize: passthrough,
    responseDeserialize: passthrough,
  },
} satisfies grpc.ServiceDefinition;

function onStream(call: grpc.ServerDuplexStream<Buffer, Buffer>): void {
  streams.add(call);
  const answered = new Set<string>();
  call.on('data', (buf: Buffer) => {
    const { typeUrl, nonce } = decodeRequest(buf);
    if (!nonce && !answered.has(typeUrl)) {
      answered.add(typeUrl);
      call.write(response(typeUrl, 'v0', `i${seq++}`));
      return;
    }
    if (current && nonce === current.nonce && ++current.acked === current.want) current.done();
  });
  const drop = () => streams.delete(call);
  call.on('end', () => {
    drop();
    call.end();
  });
  call.on('error', drop);
  call.on('cancelled', drop);
}

let server: grpc.Server | undefined;
let listener: xds.PacedListener | undefined;

async function handle(cmd: Cmd): Promise<unknown> {
  switch (cmd.op) {
    case 'start': {
      server = new grpc.Server({ 'grpc.enable_channelz': 0 });
      server.addService(definition, { StreamAggregatedResources: onStream });
      const creds = grpc.ServerCredentials.createSsl(Buffer.from(cmd.caPem), [{ cert_chain: Buffer.from(cmd.certPem), private_key: Buffer.from(cmd.keyPem) }], true);
      listener = await xds.listenPaced(server, '127.0.0.1:0', creds, { backlog: xds.DEFAULT_LISTEN_BACKLOG, tls: true });
      return listener.port;
    }
    case 'streams':
      return streams.size;
    case 'cpu': {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1e6;
    }
    case 'push': {
      const nonce = `p${seq++}`;
      const msg = response(BLOB, nonce, nonce, Buffer.alloc(Math.max(0, cmd.bytes - 64), 7));
      const targets = [...streams].slice(0, cmd.limit ?? streams.size);
      const want = targets.length;
      const t0 = performance.now();
      const done = new Promise<void>((r) => (current = { nonce, acked: 0, want, done: r }));
      for (const s of targets) s.write(msg);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([done, new Promise((r) => (timer = setTimeout(r, cmd.timeoutMs)))]);
      clearTimeout(timer);
      const ms = performance.now() - t0;
      const acked = current?.acked ?? 0;
      current = undefined;
      return { ms, streams: want, acked, bytesPerStream: msg.length };
    }
    case 'exit':
      listener?.close();
      server?.forceShutdown();
      setTimeout(() => process.exit(0), 20);
      return true;
  }
}

process.on('message', (cmd: Cmd) => {
  handle(cmd).then(
    (value) => process.send?.({ id: cmd.id, ok: true, value }),
    (err: unknown) => process.send?.({ id: cmd.id, ok: false, error: String(err) }),
  );
});
process.on('disconnect', () => process.exit(0));
process.send?.(CHILD_READY);
