import { Duplex } from 'node:stream';
import { TypeUrls } from '@trellis/plugin-sdk';
import type { Logger } from '@trellis/plugin-sdk';
import { describe, expect, it } from 'vitest';
import { Snapshot } from '../cache/snapshot.ts';
import { SnapshotCache } from '../cache/snapshot-cache.ts';
import { createResourceFactory } from '../resources/factory.ts';
import { discoveryResponse, type SotwCall } from './codec.ts';
import { KeyedConcurrencyLimiter } from './limits.ts';
import { RateLimitedLog } from './log-limit.ts';
import { ProxyRegistry } from './registry.ts';
import { SotwStream } from './sotw.ts';
import { LARGE_PUSH_BYTES, LARGE_PUSH_HOLD_MS, type StreamEnv } from './stream-base.ts';
import { XdsMetrics } from './xds-metrics.ts';

const f = createResourceFactory();
/** One cluster and one listener whose sizes are about `padding` bytes each; `v` makes each snapshot distinct. */
const snap = (v: number, padding = 10) =>
  new Snapshot([
    f.create(TypeUrls.cluster, 'a', { name: 'a', type: 'STATIC', connect_timeout: { seconds: v }, alt_stat_name: 'x'.repeat(padding) }),
    f.create(TypeUrls.listener, 'l', { name: 'l', stat_prefix: 'y'.repeat(padding) }),
  ]);
const log: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => log };
const tick = () => new Promise((r) => setTimeout(r, 0));
const nodeId = (i: number) => `6f1c2f0e-52a8-4a55-9d0b-${i.toString().padStart(12, '0')}.sidecar.sa${i}.ns.cluster.local`;

/**
 * A server call with grpc-js's write side: an object-mode Writable (high-water mark 16 messages) whose writes
 * complete when the transport takes them. A `reading` peer takes each at once; a non-reading one never does
 * until `release()` (HTTP/2 flow control holds the data).
 */
class FakeCall extends Duplex {
  /** Everything handed to `write`, taken by the transport or still buffered in the Writable. */
  readonly written: Buffer[] = [];
  readonly #held: (() => void)[] = [];
  constructor(public reading: boolean) {
    super({ objectMode: true, read() {} });
  }
  override write(chunk: Buffer, encodingOrDone?: BufferEncoding | ((err?: Error | null) => void), done?: (err?: Error | null) => void): boolean {
    this.written.push(chunk);
    return typeof encodingOrDone === 'function' ? super.write(chunk, encodingOrDone) : super.write(chunk, encodingOrDone ?? 'utf8', done);
  }
  override _write(_chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    if (this.reading) setImmediate(done);
    else this.#held.push(done);
  }
  /** The peer starts reading: everything held is taken, and so is everything after. */
  release(): void {
    this.reading = true;
    for (const done of this.#held.splice(0)) done();
  }
  get writtenBytes(): number {
    return this.written.reduce((n, b) => n + b.length, 0);
  }
  getAuthContext() {
    return {};
  }
  getPeer() {
    return 'fake';
  }
}

const envFor = (cache: SnapshotCache, limiter: KeyedConcurrencyLimiter, maxBufferedBytes = 4 * 1024 * 1024): StreamEnv => ({
  cache,
  registry: new ProxyRegistry(),
  limiter,
  limits: { maxBufferedBytes, maxSubscriptions: 100_000, maxTypes: 16 },
  metrics: new XdsMetrics(),
  hooks: {},
  logger: log,
  logLimit: new RateLimitedLog(10),
  closed: () => {},
});

/** A SotW stream of proxy `i` subscribed to CDS and LDS (wildcard), like Envoy's first two requests. */
function open(env: StreamEnv, call: FakeCall, i: number): SotwStream {
  const stream = new SotwStream(env, call as unknown as SotwCall, 'plaintext');
  call.emit('data', { node: { id: nodeId(i) }, type_url: TypeUrls.cluster });
  call.emit('data', { type_url: TypeUrls.listener });
  return stream;
}

const clusterTimeout = (b: Buffer) => {
  const res = discoveryResponse.decode(b);
  return res.type_url === TypeUrls.cluster ? res.resources?.[0]?.value : undefined;
};

describe('a slow proxy', () => {
  it('gets the latest snapshot after its buffer drains, not every intermediate one', async () => {
    const cache = new SnapshotCache({ nodeHash: () => 'k' });
    cache.setSnapshot('k', snap(1, 2000));
    const call = new FakeCall(false);
    open(envFor(cache, new KeyedConcurrencyLimiter(4), 1000), call, 1);
    await tick();
    expect(call.written).toHaveLength(1); // CDS went out; LDS waits: the buffer is past its bound
    for (let i = 2; i <= 5; i++) cache.setSnapshot('k', snap(i, 2000));
    await tick();
    expect(call.written).toHaveLength(1); // nothing queued behind the full buffer
    call.release();
    await tick();
    await tick();
    const cds = call.written.map(clusterTimeout).filter((v) => v !== undefined);
    expect(cds.at(-1)).toEqual(Buffer.from(snap(5, 2000).resources(TypeUrls.cluster)[0]!.body));
    expect(cds).toHaveLength(2); // the first and the latest; 2..4 were never sent
  });

  it('buffers at most maxBufferedBytes plus one response, however often the config changes', async () => {
    const cache = new SnapshotCache({ nodeHash: () => 'k' });
    const padding = 5000;
    cache.setSnapshot('k', snap(0, padding));
    const call = new FakeCall(false);
    const bound = 20_000;
    open(envFor(cache, new KeyedConcurrencyLimiter(4), bound), call, 1);
    for (let v = 1; v <= 40; v++) {
      cache.setSnapshot('k', snap(v, padding));
      await tick();
    }
    const largest = Math.max(...call.written.map((b) => b.length));
    expect(largest).toBeGreaterThan(padding);
    expect(call.writtenBytes).toBeLessThanOrEqual(bound + largest);
  });

  it('never stops pushes to healthy proxies, however many peers stop reading', async () => {
    const cache = new SnapshotCache({ nodeHash: () => 'k' });
    cache.setSnapshot('k', snap(1));
    const limiter = new KeyedConcurrencyLimiter(2);
    const env = envFor(cache, limiter, 1); // every response fills a stuck peer's buffer
    const stuck = Array.from({ length: 6 }, () => new FakeCall(false));
    stuck.forEach((call, i) => open(env, call, i));
    // Enough changes to fill every stuck peer's transport buffer, whatever its size in messages.
    for (let v = 2; v <= 20; v++) {
      cache.setSnapshot('k', snap(v));
      await tick();
    }
    expect(stuck.every((c) => c.written.length >= 1)).toBe(true);

    const healthy = new FakeCall(true);
    open(env, healthy, 100);
    await tick();
    await tick();
    expect(healthy.written.map((b) => discoveryResponse.decode(b).type_url)).toEqual([TypeUrls.cluster, TypeUrls.listener]);

    cache.setSnapshot('k', snap(21));
    await tick();
    await tick();
    expect(healthy.written.map(clusterTimeout).at(-1)).toEqual(Buffer.from(snap(21).resources(TypeUrls.cluster)[0]!.body));
    // No slot is held waiting on a peer.
    expect(limiter.running).toBe(0);
  });
});

describe('a large push', () => {
  const big = (v: number) => snap(v, LARGE_PUSH_BYTES + 10_000);

  it('keeps its push slot until the peer has taken its bytes, so large responses are not all in flight at once', async () => {
    const cache = new SnapshotCache({ nodeHash: () => 'k' });
    cache.setSnapshot('k', big(1));
    const limiter = new KeyedConcurrencyLimiter(1);
    const env = envFor(cache, limiter);
    const slow = new FakeCall(false);
    open(env, slow, 1);
    await tick();
    const next = new FakeCall(true);
    open(env, next, 2);
    await tick();
    await tick();
    expect(slow.written.length).toBeGreaterThan(0);
    expect(next.written).toHaveLength(0); // the one slot is still held by the untaken large push
    expect(limiter.running).toBe(1);
    slow.release();
    for (let i = 0; i < 6 && next.written.length < 2; i++) await tick();
    expect(next.written.map((b) => discoveryResponse.decode(b).type_url)).toEqual([TypeUrls.cluster, TypeUrls.listener]);
  });

  it('gives the slot back after the hold time when the peer never reads', async () => {
    const cache = new SnapshotCache({ nodeHash: () => 'k' });
    cache.setSnapshot('k', big(1));
    const limiter = new KeyedConcurrencyLimiter(1);
    const env = envFor(cache, limiter);
    open(env, new FakeCall(false), 1);
    await tick();
    const next = new FakeCall(true);
    open(env, next, 2);
    // Two holds: the stuck peer's CDS push, then its LDS push (each wrote); nothing after that writes.
    await new Promise((r) => setTimeout(r, 2 * LARGE_PUSH_HOLD_MS + 300));
    expect(next.written.length).toBeGreaterThan(0);
  }, 4 * LARGE_PUSH_HOLD_MS);

  it('does not hold a slot for a small push to a peer that does not read', async () => {
    const cache = new SnapshotCache({ nodeHash: () => 'k' });
    cache.setSnapshot('k', snap(1));
    const limiter = new KeyedConcurrencyLimiter(1);
    const env = envFor(cache, limiter);
    open(env, new FakeCall(false), 1);
    await tick();
    expect(limiter.running).toBe(0);
  });
});
