import { describe, expect, it } from 'vitest';
import { MetricsRegistry } from './registry.ts';

describe('MetricsRegistry (prom-client)', () => {
  it('renders counters, gauges and histograms in Prometheus text format', async () => {
    const m = new MetricsRegistry();
    m.counter({ name: 'trellis_x_total', help: 'X.', labelNames: ['kind'] }).inc({ kind: 'a"b' }, 2);
    m.gauge({ name: 'trellis_g', help: 'G.' }).set(3);
    const h = m.histogram({ name: 'trellis_h_seconds', help: 'H.', buckets: [0.1, 1] });
    h.observe(0.05);
    h.observe(0.5);
    const text = await m.exposition();
    expect(text).toContain(['# HELP trellis_x_total X.', '# TYPE trellis_x_total counter', 'trellis_x_total{kind="a\\"b"} 2'].join('\n'));
    expect(text).toContain(['# HELP trellis_g G.', '# TYPE trellis_g gauge', 'trellis_g 3'].join('\n'));
    expect(text).toContain(
      [
        '# TYPE trellis_h_seconds histogram',
        'trellis_h_seconds_bucket{le="0.1"} 1',
        'trellis_h_seconds_bucket{le="1"} 2',
        'trellis_h_seconds_bucket{le="+Inf"} 2',
        'trellis_h_seconds_sum 0.55',
        'trellis_h_seconds_count 2',
      ].join('\n'),
    );
    expect(m.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
  });

  it('recomputes `current` gauges and histograms at each scrape, dropping series that are gone', async () => {
    const m = new MetricsRegistry();
    let now: { kind: string; n: number }[] = [{ kind: 'a', n: 2 }, { kind: 'b', n: 1 }];
    m.gauge({ name: 'trellis_things', help: 't', labelNames: ['kind'], current: () => now.map((x) => ({ labels: { kind: x.kind }, value: x.n })) });
    let ages = [0.5, 3, 30];
    m.histogram({ name: 'trellis_age_seconds', help: 'a', buckets: [1, 10], current: () => ages.map((value) => ({ value })) });
    let text = await m.exposition();
    expect(text).toContain('trellis_things{kind="a"} 2\ntrellis_things{kind="b"} 1');
    expect(text).toContain('trellis_age_seconds_bucket{le="1"} 1\ntrellis_age_seconds_bucket{le="10"} 2\ntrellis_age_seconds_bucket{le="+Inf"} 3');
    now = [{ kind: 'a', n: 5 }];
    ages = [2];
    text = await m.exposition();
    expect(text).toContain('trellis_things{kind="a"} 5');
    expect(text).not.toContain('kind="b"');
    expect(text).toContain('trellis_age_seconds_bucket{le="1"} 0\ntrellis_age_seconds_bucket{le="10"} 1');
    expect(text).toContain('trellis_age_seconds_count 1');
  });

  it('reads every metric as values (for OTLP export)', async () => {
    const m = new MetricsRegistry();
    m.counter({ name: 'trellis_x_total', help: 'X.', labelNames: ['kind'] }).inc({ kind: 'a' }, 2);
    const h = m.histogram({ name: 'trellis_h_seconds', help: 'H.', labelNames: ['type'], buckets: [0.1, 1] });
    h.observe(0.05, { type: 'cluster' });
    h.observe(0.5, { type: 'cluster' });
    const read = await m.read();
    expect(read.find((f) => f.name === 'trellis_x_total')).toEqual({ name: 'trellis_x_total', help: 'X.', type: 'counter', series: [{ labels: { kind: 'a' }, value: 2 }] });
    expect(read.find((f) => f.name === 'trellis_h_seconds')).toEqual({
      name: 'trellis_h_seconds',
      help: 'H.',
      type: 'histogram',
      series: [{ labels: { type: 'cluster' }, buckets: [{ le: 0.1, count: 1 }, { le: 1, count: 2 }], sum: 0.55, count: 2 }],
    });
  });

  it('renders labels in name order whatever order the caller used', async () => {
    const m = new MetricsRegistry();
    const g = m.gauge({ name: 'trellis_info', help: 'i', labelNames: ['version', 'node'] });
    g.set(1, { version: '1', node: 'v20' });
    expect(await m.exposition()).toContain('trellis_info{node="v20",version="1"} 1');
  });

  it('refuses an undeclared label', () => {
    const m = new MetricsRegistry();
    const c = m.counter({ name: 'trellis_c_total', help: 'c', labelNames: ['kind'] });
    expect(() => c.inc({ kind: 'a', typo: 'b' })).toThrow(/label "typo" is not declared \(labelNames: kind\)/);
    expect(() => m.gauge({ name: 'trellis_nolabels', help: 'n' }).set(1, { any: 'x' })).toThrow(/label "any" is not declared \(labelNames: none\)/);
    expect(() => m.histogram({ name: 'trellis_h', help: 'h', labelNames: ['a'] }).observe(1, { b: 'x' })).toThrow(/label "b" is not declared/);
  });

  it('returns the same metric for a repeated registration and refuses a kind or label change', () => {
    const m = new MetricsRegistry();
    const a = m.counter({ name: 'trellis_c_total', help: 'c', labelNames: ['x', 'y'] });
    expect(m.counter({ name: 'trellis_c_total', help: 'c', labelNames: ['y', 'x'] })).toBe(a);
    expect(() => m.gauge({ name: 'trellis_c_total', help: 'c' })).toThrow(/already registered as a counter/);
    expect(() => m.counter({ name: 'trellis_c_total', help: 'c', labelNames: ['x'] })).toThrow(/already registered with labels \[x, y\]/);
    expect(() => a.inc(undefined, -1)).toThrow(/not possible to decrease a counter/);
    expect(() => m.counter({ name: 'bad-name', help: 'b' })).toThrow(/Invalid metric name/);
  });

  it('runs a gauge collector on each scrape', async () => {
    const m = new MetricsRegistry();
    let n = 0;
    const g = m.gauge({ name: 'trellis_scrapes', help: 's', collect: () => g.set(++n) });
    expect(await m.exposition()).toContain('trellis_scrapes 1');
    expect(await m.exposition()).toContain('trellis_scrapes 2');
  });

  it("keeps meshes apart (own registry, never prom-client's global one) and shares the process metrics", async () => {
    const a = new MetricsRegistry({ processMetrics: true });
    const b = new MetricsRegistry({ processMetrics: true });
    a.counter({ name: 'trellis_only_a_total', help: 'a' }).inc();
    b.counter({ name: 'trellis_only_a_total', help: 'a' }).inc(undefined, 5);
    const [ta, tb] = [await a.exposition(), await b.exposition()];
    expect(ta).toContain('trellis_only_a_total 1');
    expect(tb).toContain('trellis_only_a_total 5');
    for (const t of [ta, tb]) {
      expect(t).toMatch(/^process_resident_memory_bytes [1-9]\d*$/m);
      expect(t).toContain('# TYPE nodejs_heap_size_used_bytes gauge');
      expect(t).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
    }
    expect(await new MetricsRegistry().exposition()).not.toContain('process_resident_memory_bytes');
  });
});
