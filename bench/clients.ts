/**
 * The simulated-proxy process (forked by bench/main.ts, so its CPU and memory are measured apart from the
 * controller's): issues each proxy's xDS client certificate from the shared self-signed CA state and runs
 * SimProxy instances on command (see clients-protocol.ts).
 */
import 'reflect-metadata';
import { createSecureContext, type SecureContext } from 'node:tls';
import { createSelfSignedProvider } from '@trellis/plugin-certs-selfsigned';
import { formatNodeId, spiffeId } from '@trellis/plugin-sdk';
import type { ClientCommand, ClientReply, ClientStats, CollectResult, ConnectResult } from './clients-protocol.ts';
import { CHILD_READY } from './child-rpc.ts';
import { ReferenceCache } from './inspect.ts';
import { procStats } from './proc-stats.ts';
import { SimProxy, wallNow } from './sim-proxy.ts';

interface Pending {
  nodeId: string;
  secureContext: SecureContext;
}

const refs = new ReferenceCache();
const specs: Pending[] = [];
let caPem = '';
const proxies: SimProxy[] = [];
let markedAt = 0;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Lets timers and sockets run (keepalive PINGs above all: see YIELD_EVERY). */
const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));
/**
 * Work items (certificate issuances, connection starts) between two event-loop turns. Issuing thousands of
 * certificates in one go blocked this process's loop for 28-48 s at a few thousand proxies; the controller's
 * keepalive (PING every 60 s, 20 s to answer) then destroyed every connection whose PING went unanswered,
 * which is how the ceiling step lost its proxies (docs/benchmarks.md, "The hang at the ceiling step").
 */
const YIELD_EVERY = 25;

/** The longest this process's event loop was blocked since the last `stats`/`connect` (ms). */
let maxLoopBlockMs = 0;
let lastTick = performance.now();
setInterval(() => {
  const now = performance.now();
  maxLoopBlockMs = Math.max(maxLoopBlockMs, now - lastTick - 100);
  lastTick = now;
}, 100).unref();
const takeMaxBlock = (): number => {
  const v = Math.round(maxLoopBlockMs);
  maxLoopBlockMs = 0;
  return v;
};

async function add(cmd: Extract<ClientCommand, { op: 'add' }>): Promise<unknown> {
  // The controller's CA: the simulated proxies use it and never create one.
  const provider = createSelfSignedProvider({ stateDir: cmd.caStateDir, caValidityMs: 87_600 * 3_600_000, keyType: 'ecdsa-p256', commonName: 'Trellis Root CA', createRoot: false });
  await provider.start?.();
  caPem = (await provider.trustBundle()).roots.join('');
  const t0 = performance.now();
  let k = 0;
  for (const p of cmd.proxies) {
    const node = { uuid: p.uuid, kind: 'sidecar', namespace: p.namespace, serviceAccount: p.serviceAccount, trustDomain: cmd.trustDomain };
    const nodeId = formatNodeId(node);
    const c = await provider.issue({
      commonName: `${p.serviceAccount}.${p.namespace}`.slice(0, 64),
      dnsNames: [nodeId],
      uris: [spiffeId(node, cmd.trustDomain)],
      validityMs: 86_400_000,
      keyType: 'ecdsa-p256',
    });
    specs.push({ nodeId, secureContext: createSecureContext({ ca: caPem, cert: c.chainPem, key: c.privateKey.reveal() }) });
    if (++k % YIELD_EVERY === 0) await yieldToLoop();
  }
  return { issued: cmd.proxies.length, ms: performance.now() - t0, maxLoopBlockMs: takeMaxBlock() };
}

/** Transport failures of the connection itself (see ConnectResult.resets). */
const RESET = /\b(ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE)\b/;

async function connect(cmd: Extract<ClientCommand, { op: 'connect' }>): Promise<ConnectResult> {
  const batch: SimProxy[] = [];
  let remaining = cmd.to - cmd.from;
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  if (remaining <= 0) done();
  const t0 = cmd.startedAt ?? wallNow();
  const deadline = t0 + cmd.timeoutMs;
  takeMaxBlock();
  for (let i = cmd.from; i < cmd.to; i++) {
    const s = specs[i];
    if (!s) throw new Error(`no certificate for proxy ${i} (add it first)`);
    const p = new SimProxy({ address: cmd.address, nodeId: s.nodeId, secureContext: s.secureContext, delta: cmd.delta, refs });
    proxies[i] = p;
    batch.push(p);
    p.start(() => {
      if (--remaining === 0) done();
    });
    // Every proxy dials at once as far as the controller can tell, but this loop keeps answering PINGs.
    if ((i - cmd.from) % YIELD_EVERY === YIELD_EVERY - 1) await yieldToLoop();
  }
  await Promise.race([all, sleep(Math.max(0, deadline - wallNow()))]);
  const readyMs = batch.map((p) => (p.readyAt ? p.readyAt - t0 : NaN));
  const errs = batch.flatMap((p) => p.errors);
  // RESOURCE_EXHAUSTED is the server's admission control (rate limit, max streams): the proxy retries.
  const refused = errs.filter((e) => e.startsWith('grpc-status 8:'));
  const other = errs.filter((e) => !e.startsWith('grpc-status 8:'));
  const resets = other.filter((e) => RESET.test(e));
  return {
    readyMs,
    allReadyMs: remaining === 0 ? Math.max(0, ...readyMs) : NaN,
    notReady: remaining,
    errors: other.length,
    resets: resets.length,
    sampleErrors: [...new Set([...other, ...refused.slice(0, 1)])].slice(0, 5),
    refusedAndRetried: refused.length,
    lostAfterReady: batch.filter((p) => p.readyAt > 0 && !p.ready).length,
    maxLoopBlockMs: takeMaxBlock(),
  };
}

const live = () => proxies.filter((p): p is SimProxy => p !== undefined && !p.closed);

async function collect(cmd: Extract<ClientCommand, { op: 'collect' }>): Promise<CollectResult> {
  const deadline = Date.now() + cmd.timeoutMs;
  const changedSeen = (i: number) => proxies[i]?.events.some((e) => e.changed) ?? true;
  while (Date.now() < deadline && !cmd.expect.every(changedSeen)) await sleep(10);
  // Then a quiet period: pushes beyond the affected set must show up too.
  let last = -1;
  for (;;) {
    const n = live().reduce((a, p) => a + p.responses, 0);
    if (n === last || Date.now() > deadline + cmd.quietMs) break;
    last = n;
    await sleep(cmd.quietMs);
  }
  const missing = cmd.expect.filter((i) => !changedSeen(i));
  const events: CollectResult['events'] = [];
  proxies.forEach((p, i) => {
    const e = p.stopRecording();
    if (e.length > 0) events.push({ i, events: e });
  });
  return { markedAt, events, missing, bytesReceived: live().reduce((a, p) => a + p.bytesReceived, 0) };
}

function stats(): ClientStats {
  const s = procStats(process.pid);
  const cpu = process.cpuUsage();
  const l = live();
  return {
    pid: process.pid,
    rssBytes: s.rssBytes,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    bytesReceived: l.reduce((a, p) => a + p.bytesReceived, 0),
    responses: l.reduce((a, p) => a + p.responses, 0),
    ready: l.filter((p) => p.ready).length,
    proxies: l.length,
    errors: l.reduce((a, p) => a + p.errors.length, 0),
    referenceDecodes: refs.decodes,
    maxLoopBlockMs: takeMaxBlock(),
  };
}

async function handle(cmd: ClientCommand): Promise<unknown> {
  switch (cmd.op) {
    case 'add':
      return add(cmd);
    case 'connect':
      return connect(cmd);
    case 'mark':
      markedAt = wallNow();
      for (const p of live()) p.startRecording();
      return markedAt;
    case 'collect':
      return collect(cmd);
    case 'stats':
      return stats();
    case 'subscriptions':
      return proxies.map((p) => (p.closed ? [] : [...p.subscribed(cmd.typeUrl)]));
    case 'close':
      for (const p of live()) p.close();
      proxies.length = 0;
      return true;
    case 'exit':
      for (const p of live()) p.close();
      setTimeout(() => process.exit(0), 50);
      return true;
  }
}

process.on('message', (cmd: ClientCommand) => {
  handle(cmd).then(
    (value) => process.send?.({ id: cmd.id, ok: true, value } satisfies ClientReply),
    (err: unknown) => process.send?.({ id: cmd.id, ok: false, error: (err as Error).stack ?? String(err) } satisfies ClientReply),
  );
});
process.on('disconnect', () => process.exit(0));
process.send?.(CHILD_READY);
