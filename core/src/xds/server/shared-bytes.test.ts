import { Duplex } from 'node:stream';
import { TypeUrls } from '@trellis/plugin-sdk';
import type { Logger, XdsResource } from '@trellis/plugin-sdk';
import { describe, expect, it } from 'vitest';
import { Snapshot } from '../cache/snapshot.ts';
import { SnapshotCache } from '../cache/snapshot-cache.ts';
import { createResourceFactory } from '../resources/factory.ts';
import { discoveryResponse, type SotwCall } from './codec.ts';
import { KeyedConcurrencyLimiter } from './limits.ts';
import { RateLimitedLog } from './log-limit.ts';
import { ProxyRegistry } from './registry.ts';
import { encodeSotwResponse, sotwEntryOf } from './response-bytes.ts';
import { SotwStream } from './sotw.ts';
import type { StreamEnv } from './stream-base.ts';
import { XdsMetrics } from './xds-metrics.ts';

const f = createResourceFactory();
const cluster = (name: string, seconds = 1) => f.create(TypeUrls.cluster, name, { name, type: 'STATIC', connect_timeout: { seconds } });
const listener = (name: string, prefix: string) => f.create(TypeUrls.listener, name, { name, stat_prefix: prefix });
const log: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => log };
const tick = () => new Promise((r) => setTimeout(r, 0));
const nodeId = (sa: string) => `6f1c2f0e-52a8-4a55-9d0b-000000000001.sidecar.${sa}.ns.cluster.local`;

/** A call that takes every write at once and keeps a copy of its bytes as written. */
class RecordingCall extends Duplex {
  readonly written: Buffer[] = [];
  constructor() {
    super({ objectMode: true, read() {} });
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.written.push(Buffer.from(chunk)); // a copy: later pushes must not be able to alter what was sent
    setImmediate(done);
  }
  getAuthContext() {
    return {};
  }
  getPeer() {
    return 'fake';
  }
  responses(typeUrl: string) {
    return this.written.map((b) => ({ bytes: b, msg: discoveryResponse.decode(b) })).filter((r) => r.msg.type_url === typeUrl);
  }
}

const envFor = (cache: SnapshotCache): StreamEnv => ({
  cache,
  registry: new ProxyRegistry(),
  limiter: new KeyedConcurrencyLimiter(4),
  limits: { maxBufferedBytes: 4 * 1024 * 1024, maxSubscriptions: 100_000, maxTypes: 16 },
  metrics: new XdsMetrics(),
  hooks: {},
  logger: log,
  logLimit: new RateLimitedLog(10),
  closed: () => {},
});

function open(env: StreamEnv, sa: string): RecordingCall {
  const call = new RecordingCall();
  new SotwStream(env, call as unknown as SotwCall, 'plaintext');
  call.emit('data', { node: { id: nodeId(sa) }, type_url: TypeUrls.cluster });
  call.emit('data', { type_url: TypeUrls.listener });
  return call;
}

/** A response without its nonce (the only per-stream field; it is last). */
const withoutNonce = (b: Buffer, nonce: string) => b.subarray(0, b.length - 2 - Buffer.byteLength(nonce));

describe('shared bytes across identities', () => {
  it('gives two identities with equal resources of a type one interned list, and equal response bytes', async () => {
    const cache = new SnapshotCache();
    const env = envFor(cache);
    const clusters = [cluster('a'), cluster('b')];
    // Same clusters (even as separately created objects), different listeners.
    const s1 = new Snapshot([...clusters, listener('l', 'one')]);
    const s2 = new Snapshot([cluster('b'), cluster('a'), listener('l', 'two')]);
    expect(s1.list(TypeUrls.cluster)).toBe(s2.list(TypeUrls.cluster));
    expect(s1.list(TypeUrls.listener)).not.toBe(s2.list(TypeUrls.listener));
    expect(s1.byName(TypeUrls.cluster)).toBe(s2.byName(TypeUrls.cluster));

    cache.setSnapshot('sidecar|ns/sa1', s1);
    cache.setSnapshot('sidecar|ns/sa2', s2);
    const c1 = open(env, 'sa1');
    const c2 = open(env, 'sa2');
    await tick();
    await tick();
    const [cds1] = c1.responses(TypeUrls.cluster);
    const [cds2] = c2.responses(TypeUrls.cluster);
    if (!cds1 || !cds2) throw new Error('both streams should have received CDS');
    expect(cds1.msg.version_info).toBe(s1.version(TypeUrls.cluster));
    expect(withoutNonce(cds1.bytes, cds1.msg.nonce!)).toEqual(withoutNonce(cds2.bytes, cds2.msg.nonce!));
    const [lds1] = c1.responses(TypeUrls.listener);
    const [lds2] = c2.responses(TypeUrls.listener);
    expect(lds1!.msg.version_info).not.toBe(lds2!.msg.version_info);
  });

  it('does not alter the other identity when one identity changes', async () => {
    const cache = new SnapshotCache();
    const env = envFor(cache);
    cache.setSnapshot('sidecar|ns/sa1', new Snapshot([cluster('a'), listener('l', 'x')]));
    cache.setSnapshot('sidecar|ns/sa2', new Snapshot([cluster('a'), listener('l', 'x')]));
    const c1 = open(env, 'sa1');
    const c2 = open(env, 'sa2');
    await tick();
    await tick();
    const before = c2.written.map((b) => Buffer.from(b));
    const sa2Version = c2.responses(TypeUrls.cluster)[0]!.msg.version_info;

    cache.setSnapshot('sidecar|ns/sa1', new Snapshot([cluster('a', 7), listener('l', 'x')]));
    await tick();
    await tick();
    const cds1 = c1.responses(TypeUrls.cluster);
    expect(cds1).toHaveLength(2);
    expect(cds1[1]!.msg.version_info).not.toBe(sa2Version);
    expect(cds1[1]!.msg.resources?.[0]?.value).toEqual(Buffer.from(cluster('a', 7).body));
    // sa2 got nothing new, and what it was sent is byte for byte what it was.
    expect(c2.written).toEqual(before);
    expect(c1.responses(TypeUrls.listener)).toHaveLength(1); // LDS did not change for sa1 either
  });
});

describe('encodeSotwResponse', () => {
  it('is byte-identical to protobufjs encoding the same DiscoveryResponse', () => {
    const resources: XdsResource[] = [cluster('a'), cluster('b', 3), f.create(TypeUrls.cluster, 'big', { name: 'big', alt_stat_name: 'z'.repeat(70_000) })];
    const mine = encodeSotwResponse('v1', TypeUrls.cluster, resources, 'n7');
    const theirs = discoveryResponse.encode({ version_info: 'v1', type_url: TypeUrls.cluster, nonce: 'n7', resources: resources.map((r) => ({ type_url: r.typeUrl, value: r.body })) });
    expect(Buffer.compare(mine, theirs)).toBe(0);
    expect(discoveryResponse.decode(encodeSotwResponse('', TypeUrls.cluster, [], '1'))).toMatchObject({ nonce: '1', type_url: TypeUrls.cluster });
  });

  it('encodes a resource entry once, whoever sends it', () => {
    const r = cluster('once');
    expect(sotwEntryOf(r)).toBe(sotwEntryOf(r));
  });
});
