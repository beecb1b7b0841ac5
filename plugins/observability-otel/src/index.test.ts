import { describe, expect, it } from 'vitest';
import { extensionPoints } from '@trellis/plugin-sdk';
import { runPluginConformance } from '@trellis/plugin-sdk/testing';
import otel from './index.ts';

describe('otel plugin', () => {
  it('passes the SDK conformance kit and contributes a tracer (none with traces off)', async () => {
    // Nothing listens at the endpoint: exports fail quietly in the background, the lifecycle does not.
    const report = await runPluginConformance(otel, { config: { endpoint: 'http://127.0.0.1:9', protocol: 'grpc', metricsInterval: '1s' } });
    expect(report.steps).toContain('stop again');
    expect(report.registrations.extended.map((e) => e.point)).toEqual([extensionPoints.tracers.id]);
    const off = await runPluginConformance(otel, { config: { endpoint: 'http://127.0.0.1:9', traces: false, metrics: false } });
    expect(off.registrations.extended).toEqual([]);
  });

  it('refuses a config without an http(s) endpoint, a bad protocol or ratio', () => {
    const parse = (c: unknown) => otel.configSchema!.parse(c, [], { baseDir: '.' });
    expect(parse({}).ok).toBe(false);
    expect(parse({ endpoint: 'collector:4317' }).ok).toBe(false);
    expect(parse({ endpoint: 'http://c:4318', protocol: 'http/json' }).ok).toBe(false);
    expect(parse({ endpoint: 'http://c:4318', samplingRatio: 1.5 }).ok).toBe(false);
    expect(parse({ endpoint: 'http://c:4318' })).toMatchObject({ ok: true, value: { protocol: 'http/protobuf', samplingRatio: 1, traces: true, metrics: true } });
  });
});
