import { describe, expect, it } from 'vitest';
import { MetricsRegistry } from './registry.ts';

describe('MetricsRegistry', () => {
  it('renders counters, gauges and histograms in Prometheus text format', () => {
    const m = new MetricsRegistry();
    m.counter({ name: 'trellis_x_total', help: 'X.', labelNames: ['kind'] }).inc({ kind: 'a"b' }, 2);
    m.gauge({ name: 'trellis_g', help: 'G.' }).set(3);
    const h = m.histogram({ name: 'trellis_h_seconds', help: 'H.', buckets: [0.1, 1] });
    h.observe(0.05);
    h.observe(0.5);
    expect(m.exposition()).toBe(
      [
        '# HELP trellis_g G.',
        '# TYPE trellis_g gauge',
        'trellis_g 3',
        '# HELP trellis_h_seconds H.',
        '# TYPE trellis_h_seconds histogram',
        'trellis_h_seconds_bucket{le="0.1"} 1',
        'trellis_h_seconds_bucket{le="1"} 2',
        'trellis_h_seconds_bucket{le="+Inf"} 2',
        'trellis_h_seconds_sum 0.55',
        'trellis_h_seconds_count 2',
        '# HELP trellis_x_total X.',
        '# TYPE trellis_x_total counter',
        'trellis_x_total{kind="a\\"b"} 2',
        '',
      ].join('\n'),
    );
  });

  it('returns the same metric for a repeated registration and refuses a kind change', () => {
    const m = new MetricsRegistry();
    const a = m.counter({ name: 'trellis_c_total', help: 'c' });
    expect(m.counter({ name: 'trellis_c_total', help: 'c' })).toBe(a);
    expect(() => m.gauge({ name: 'trellis_c_total', help: 'c' })).toThrow(/already registered as a counter/);
    expect(() => a.inc(undefined, -1)).toThrow(/cannot decrease/);
  });
});
