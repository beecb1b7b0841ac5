import { describe, expect, it } from 'vitest';
import { MemoryLogger, MemoryMetrics, runPluginConformance } from '@trellis/plugin-sdk/testing';
import prometheus, { MetricsListener } from './index.ts';

describe('prometheus plugin', () => {
  it('passes the SDK conformance kit, with and without a listener of its own', async () => {
    expect((await runPluginConformance(prometheus)).steps).toContain('stop');
    const report = await runPluginConformance(prometheus, { config: { address: '127.0.0.1:0', path: '/m' } });
    expect(report.steps).toContain('ready');
  });

  it('serves the exposition on its own address and path, and nothing else', async () => {
    const metrics = new MemoryMetrics();
    metrics.counter({ name: 'trellis_things_total' }).inc();
    const l = new MetricsListener({ metrics, logger: new MemoryLogger(), address: '127.0.0.1:0', path: '/metrics' });
    await l.start();
    try {
      const url = l.url!;
      const ok = await fetch(url);
      expect(ok.status).toBe(200);
      expect(ok.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(await ok.text()).toContain('trellis_things_total 1');
      expect((await fetch(url.replace(/\/metrics$/, '/debug/certs'))).status).toBe(404);
      expect((await fetch(url, { method: 'POST' })).status).toBe(405);
    } finally {
      await l.stop();
    }
    expect(l.readiness().ready).toBe(false);
  });

  it('refuses an address that is not host:port', () => {
    const r = prometheus.configSchema!.parse({ address: 'localhost' }, [], { baseDir: '.' });
    expect(r.ok).toBe(false);
  });
});
