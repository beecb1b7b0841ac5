import { EventEmitter } from 'node:events';
import { TypeUrls } from '@trellis/plugin-sdk';
import type { Logger } from '@trellis/plugin-sdk';
import { describe, expect, it } from 'vitest';
import { Snapshot } from '../cache/snapshot.ts';
import { SnapshotCache } from '../cache/snapshot-cache.ts';
import { createResourceFactory } from '../resources/factory.ts';
import { discoveryResponse, type SotwCall } from './codec.ts';
import { KeyedConcurrencyLimiter } from './limits.ts';
import { ProxyRegistry } from './registry.ts';
import { SotwStream } from './sotw.ts';
import { XdsMetrics } from './xds-metrics.ts';

const f = createResourceFactory();
const snap = (timeout: number) =>
  new Snapshot([f.create(TypeUrls.cluster, 'a', { name: 'a', type: 'STATIC', connect_timeout: { seconds: timeout } })]);
const log: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => log };
const tick = () => new Promise((r) => setTimeout(r, 0));

/** A call whose transport buffer is "full" until the test emits 'drain'. */
class FakeCall extends EventEmitter {
  readonly written: Buffer[] = [];
  full = true;
  getAuthContext() {
    return {};
  }
  getPeer() {
    return 'fake';
  }
  write(b: Buffer) {
    this.written.push(b);
    return !this.full;
  }
  end() {}
}

describe('a slow proxy', () => {
  it('gets the latest snapshot after its buffer drains, not every intermediate one', async () => {
    const cache = new SnapshotCache({ nodeHash: () => 'k' });
    cache.setSnapshot('k', snap(1));
    const call = new FakeCall();
    new SotwStream(
      {
        cache,
        registry: new ProxyRegistry(),
        limiter: new KeyedConcurrencyLimiter(4),
        metrics: new XdsMetrics(),
        hooks: {},
        logger: log,
        closed: () => {},
      },
      call as unknown as SotwCall,
      'plaintext',
    );
    call.emit('data', { node: { id: '6f1c2f0e-52a8-4a55-9d0b-0c3a7f3f1a11.grpc.sa.ns.cluster.local' }, type_url: TypeUrls.cluster });
    await tick();
    expect(call.written).toHaveLength(1);
    for (let i = 2; i <= 5; i++) cache.setSnapshot('k', snap(i));
    await tick();
    expect(call.written).toHaveLength(1); // blocked: nothing queued
    call.full = false;
    call.emit('drain');
    await tick();
    await tick();
    expect(call.written).toHaveLength(2);
    const last = discoveryResponse.decode(call.written[1]!);
    expect(last.resources?.[0]?.value).toEqual(Buffer.from(snap(5).resources(TypeUrls.cluster)[0]!.body));
  });
});
