import type { MeshTelemetry } from '@trellis/plugin-sdk';

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Host names and IP literals an Envoy cluster can resolve (no scheme, port or path). */
const HOST = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)$/;

/**
 * Reads a MeshConfig's `spec.observability` (OSM's `tracing: { enable, address, port, endpoint }`, plus
 * Trellis's `samplingPercentage` and `accessLog: { enable, format, address, port }`). `bad(field, why)` throws, so an invalid
 * field makes the MeshConfig invalid with its path, and the last good one stays.
 */
export function telemetrySettings(spec: Rec, bad: (field: string, why: string) => never, show: (v: unknown) => string): MeshTelemetry | undefined {
  const obs = spec.observability;
  if (obs === undefined) return undefined;
  if (!isRec(obs)) bad('spec.observability', 'must be a map');
  const out: { tracing?: MeshTelemetry['tracing']; accessLog?: MeshTelemetry['accessLog'] } = {};
  const enabled = (r: Rec, f: string): boolean => {
    if (r.enable === undefined) return false;
    if (typeof r.enable !== 'boolean') bad(`${f}.enable`, `must be true or false, got ${show(r.enable)}`);
    return r.enable;
  };
  if (obs.tracing !== undefined) {
    const t = obs.tracing;
    const f = 'spec.observability.tracing';
    if (!isRec(t)) bad(f, 'must be a map');
    if (enabled(t, f)) {
      if (typeof t.address !== 'string' || !HOST.test(t.address)) bad(`${f}.address`, `must be a host name or IP address (no scheme or port), got ${show(t.address)}`);
      if (typeof t.port !== 'number' || !Number.isInteger(t.port) || t.port < 1 || t.port > 65535) bad(`${f}.port`, `must be an integer 1-65535, got ${show(t.port)}`);
      const endpoint = t.endpoint ?? '/v1/traces';
      if (typeof endpoint !== 'string' || !/^\/[\x21-\x7e]*$/.test(endpoint)) bad(`${f}.endpoint`, `must be a URL path starting with /, got ${show(t.endpoint)}`);
      const pct = t.samplingPercentage ?? 100;
      if (typeof pct !== 'number' || !(pct >= 0 && pct <= 100)) bad(`${f}.samplingPercentage`, `must be a number 0-100, got ${show(t.samplingPercentage)}`);
      out.tracing = { address: t.address, port: t.port, endpoint, samplingPercentage: pct };
    }
  }
  if (obs.accessLog !== undefined) {
    const a = obs.accessLog;
    const f = 'spec.observability.accessLog';
    if (!isRec(a)) bad(f, 'must be a map');
    if (enabled(a, f)) {
      const format = a.format ?? 'json';
      if (format !== 'json' && format !== 'text' && format !== 'otel') bad(`${f}.format`, `must be json, text or otel, got ${show(a.format)}`);
      if (format === 'otel') {
        // OTLP/gRPC to a collector (4317 by convention), through a cluster of its own.
        if (typeof a.address !== 'string' || !HOST.test(a.address)) bad(`${f}.address`, `must be a host name or IP address (no scheme or port) with format otel, got ${show(a.address)}`);
        const port = a.port ?? 4317;
        if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) bad(`${f}.port`, `must be an integer 1-65535, got ${show(a.port)}`);
        out.accessLog = { format, address: a.address, port };
      } else out.accessLog = { format };
    }
  }
  return out.tracing || out.accessLog ? out : undefined;
}
