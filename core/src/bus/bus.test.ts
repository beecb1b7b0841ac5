import { describe, expect, it } from 'vitest';
import { defineTopic } from '@trellis/plugin-sdk';
import { MemoryLogger } from '@trellis/plugin-sdk/testing';
import { MetricsRegistry } from '../metrics/registry.ts';
import { Bus } from './bus.ts';

const changed = defineTopic<{ name: string }>('test.changed');

describe('Bus', () => {
  it('keeps delivering to other subscribers when one throws or rejects, and logs and counts the failure', async () => {
    const logger = new MemoryLogger();
    const metrics = new MetricsRegistry();
    const bus = new Bus(logger, metrics);
    const got: string[] = [];
    bus.subscribe(changed, (p) => void got.push(`first:${p.name}`));
    bus.subscribe(changed, () => {
      throw new Error('boom');
    }, { name: 'thrower' });
    bus.subscribe(changed, async () => Promise.reject(new Error('async boom')), { name: 'rejecter' });
    bus.subscribe(changed, async (p) => void got.push(`last:${p.name}`));
    await bus.publish(changed, { name: 'x' });
    expect(got.sort()).toEqual(['first:x', 'last:x']);
    const text = await metrics.exposition();
    expect(text).toContain('trellis_bus_handler_errors_total{subscriber="thrower",topic="test.changed"} 1');
    expect(text).toContain('trellis_bus_handler_errors_total{subscriber="rejecter",topic="test.changed"} 1');
    expect(text).toContain('trellis_bus_events_total{topic="test.changed"} 1');
    expect(logger.lines.filter((l) => l.level === 'error').map((l) => l.fields.subscriber)).toEqual(['thrower', 'rejecter']);
  });

  it('stops delivering after unsubscribe', async () => {
    const bus = new Bus(new MemoryLogger(), new MetricsRegistry());
    let n = 0;
    const off = bus.subscribe(changed, () => void n++);
    await bus.publish(changed, { name: 'a' });
    off();
    await bus.publish(changed, { name: 'b' });
    expect(n).toBe(1);
  });
});
