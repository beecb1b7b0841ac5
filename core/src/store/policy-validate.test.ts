import { describe, expect, it } from 'vitest';
import type { KubeObject } from '@trellis/plugin-sdk';
import { MeshStore, validateObject } from './index.ts';
import { goDurationMs } from './policy-validate.ts';
import { fakeDeps } from './test-fakes.ts';

const retry = (spec: Record<string, unknown>, group = 'policy.trellis.io'): KubeObject => ({
  apiVersion: `${group}/v1alpha1`,
  kind: 'Retry',
  metadata: { name: 'r', namespace: 'curl' },
  spec: {
    source: { kind: 'ServiceAccount', name: 'curl', namespace: 'curl' },
    destinations: [{ kind: 'Service', name: 'httpbin', namespace: 'httpbin' }],
    retryPolicy: { retryOn: '5xx', numRetries: 3, perTryTimeout: '1s', retryBackoffBaseInterval: '25ms' },
    ...spec,
  },
});
const uts = (spec: Record<string, unknown>): KubeObject => ({
  apiVersion: 'policy.openservicemesh.io/v1alpha1',
  kind: 'UpstreamTrafficSetting',
  metadata: { name: 'u', namespace: 'httpbin' },
  spec: { host: 'httpbin.httpbin.svc.cluster.local', ...spec },
});
const reason = (o: KubeObject): string | undefined => {
  const v = validateObject(o);
  return v.outcome === 'invalid' ? v.reason : undefined;
};

describe('traffic policy validation', () => {
  it('accepts both groups; defaults missing namespaces of source and destinations to the Retry namespace', () => {
    for (const g of ['policy.trellis.io', 'policy.openservicemesh.io']) expect(validateObject(retry({}, g)).outcome).toBe('accepted');
    const v = validateObject(retry({ source: { kind: 'ServiceAccount', name: 'curl' }, destinations: [{ kind: 'Service', name: 'httpbin' }] }));
    if (v.outcome !== 'accepted') throw new Error(v.reason);
    expect(v.obj.spec).toMatchObject({ source: { kind: 'ServiceAccount', name: 'curl', namespace: 'curl' }, destinations: [{ kind: 'Service', name: 'httpbin', namespace: 'curl' }] });
    expect(validateObject({ ...retry({}), apiVersion: 'policy.trellis.io/v1beta9' }).outcome).toBe('unknown');
  });

  it('refuses bad Retry fields with the field and why', () => {
    expect(reason(retry({ source: { kind: 'Service', name: 'curl' } }))).toBe('spec.source.kind: must be ServiceAccount, got "Service"');
    expect(reason(retry({ destinations: [] }))).toBe('spec.destinations: must have at least 1 item(s)');
    expect(reason(retry({ destinations: [{ kind: 'Service', name: 'Bad_Name' }] }))).toMatch(/^spec\.destinations\[0\]\.name: "Bad_Name" is not a DNS-1035 label/);
    expect(reason(retry({ retryPolicy: { retryOn: '5xx,sometimes' } }))).toMatch(/^spec\.retryPolicy\.retryOn: unknown condition "sometimes" \(Envoy's: 5xx, gateway-error/);
    expect(reason(retry({ retryPolicy: { retryOn: ' , ' } }))).toBe('spec.retryPolicy.retryOn: names no condition');
    expect(reason(retry({ retryPolicy: { retryOn: '5xx', numRetries: -1 } }))).toBe('spec.retryPolicy.numRetries: must be an integer 0-4294967295, got -1');
    expect(reason(retry({ retryPolicy: { retryOn: '5xx', perTryTimeout: '1 second' } }))).toMatch(/^spec\.retryPolicy\.perTryTimeout: "1 second" is not a duration/);
    expect(reason(retry({ retryPolicy: { retryOn: '5xx', retryBackoffBaseInterval: '0s' } }))).toBe('spec.retryPolicy.retryBackoffBaseInterval: must be at least 1ms, got "0s"');
    expect(reason(retry({ retryPolicy: undefined }))).toBe('spec.retryPolicy: is required');
  });

  it('refuses bad UpstreamTrafficSetting fields with the field and why', () => {
    expect(reason(uts({ host: undefined }))).toBe('spec.host: is required');
    expect(reason(uts({ host: 'Not A Host' }))).toMatch(/^spec\.host: "Not A Host" is not a DNS-1123 subdomain/);
    expect(reason(uts({ connectionSettings: { tcp: { maxConnections: 1.5 } } }))).toBe('spec.connectionSettings.tcp.maxConnections: must be an integer 0-4294967295, got 1.5');
    expect(reason(uts({ connectionSettings: { tcp: { connectTimeout: '0s' } } }))).toBe('spec.connectionSettings.tcp.connectTimeout: must be at least 1ms, got "0s"');
    expect(reason(uts({ connectionSettings: { http: { maxRequestsPerConnection: 0 } } }))).toBe('spec.connectionSettings.http.maxRequestsPerConnection: must be an integer 1-4294967295, got 0');
    expect(reason(uts({ connectionSettings: { http: { requestTimeout: 5 } } }))).toBe('spec.connectionSettings.http.requestTimeout: must be a duration such as "1s" or "250ms", got 5');
    expect(reason(uts({ outlierDetection: { maxEjectionPercent: 101 } }))).toBe('spec.outlierDetection.maxEjectionPercent: must be an integer 0-100, got 101');
    expect(reason(uts({ httpRoutes: {} }))).toBe('spec.httpRoutes: must be a list');
    expect(reason(uts({ outlierDetection: { failurePercentage: { minimumHosts: 2 } } }))).toBe('spec.outlierDetection.failurePercentage.threshold: is required');
    expect(reason(uts({ outlierDetection: { failurePercentage: { threshold: 150 } } }))).toBe('spec.outlierDetection.failurePercentage.threshold: must be an integer 0-100, got 150');
  });

  it('refuses bad local rate limits with the field and why (Envoy would reject them)', () => {
    const tcp = (t: Record<string, unknown>): KubeObject => uts({ rateLimit: { local: { tcp: t } } });
    const http = (h: Record<string, unknown>): KubeObject => uts({ httpRoutes: [{ path: '/get', rateLimit: { local: h } }] });
    expect(validateObject(tcp({ connections: 5, unit: 'second', burst: 2 })).outcome).toBe('accepted');
    expect(validateObject(http({ requests: 1, unit: 'hour', responseStatusCode: 503, responseHeadersToAdd: [{ name: 'x-limited', value: 'yes' }] })).outcome).toBe('accepted');
    expect(reason(tcp({ unit: 'second' }))).toBe('spec.rateLimit.local.tcp.connections: is required');
    expect(reason(tcp({ connections: 0, unit: 'second' }))).toBe('spec.rateLimit.local.tcp.connections: must be an integer 1-4294967295, got 0');
    expect(reason(tcp({ connections: 1, unit: 'day' }))).toBe('spec.rateLimit.local.tcp.unit: must be second, minute or hour, got "day"');
    expect(reason(tcp({ connections: 4294967295, unit: 'second', burst: 1 }))).toBe('spec.rateLimit.local.tcp.burst: connections + burst must be at most 4294967295');
    expect(reason(uts({ rateLimit: { local: { http: { requests: 1, unit: 'second', responseStatusCode: 418 } } } }))).toBe(
      'spec.rateLimit.local.http.responseStatusCode: 418 is not a 4xx/5xx status Envoy defines',
    );
    expect(reason(http({ requests: 1, unit: 'second', responseHeadersToAdd: [{ name: 'bad header', value: 'x' }] }))).toBe(
      'spec.httpRoutes[0].rateLimit.local.responseHeadersToAdd[0].name: "bad header" is not an HTTP header name',
    );
    expect(reason(uts({ httpRoutes: [{ rateLimit: {} }] }))).toBe('spec.httpRoutes[0].path: is required');
  });

  it('notes what is not enforced: global rate limits; local ones only by Envoy', () => {
    const store = new MeshStore(fakeDeps());
    store.sinkFor('file').apply(uts({ rateLimit: { local: { http: { requests: 1, unit: 'second' } }, global: {} } }));
    const note = store.policyStatuses()[0]?.reason ?? '';
    expect(note).toMatch(/spec\.rateLimit\.global: global rate limits are not enforced/);
    expect(note).toMatch(/proxyless gRPC: local rate limits are enforced by the destination's Envoy sidecar only/);
    expect(note).not.toMatch(/spec\.rateLimit: rate limits are not enforced/);
  });

  it('notes which outlier detection gRPC applies: failure percentage yes, consecutive errors no', () => {
    const noteOf = (outlierDetection: Record<string, unknown>): string => {
      const store = new MeshStore(fakeDeps());
      store.sinkFor('file').apply(uts({ outlierDetection }));
      return store.policyStatuses()[0]?.reason ?? '';
    };
    expect(noteOf({ consecutive5xxErrors: 3 })).toMatch(/proxyless gRPC: outlierDetection \(gRPC has no consecutive-error ejection; set outlierDetection\.failurePercentage\)/);
    expect(noteOf({ consecutive5xxErrors: 3, failurePercentage: { threshold: 50 } })).toBe('proxyless gRPC: outlierDetection.consecutive5xxErrors not supported by gRPC clients (Envoy applies them)');
    expect(noteOf({ interval: '1s', failurePercentage: { threshold: 50 } })).toBe('');
  });

  it('refuses bad IngressBackend fields with the field and why; accepts OSM protocol case', () => {
    const ib = (spec: Record<string, unknown>): KubeObject => ({
      apiVersion: 'policy.openservicemesh.io/v1alpha1',
      kind: 'IngressBackend',
      metadata: { name: 'ib', namespace: 'httpbin' },
      spec: { backends: [{ name: 'httpbin', port: { number: 14001, protocol: 'http' } }], sources: [{ kind: 'IPRange', name: '10.0.0.0/8' }], ...spec },
    });
    expect(validateObject(ib({ backends: [{ name: 'httpbin', port: { number: 14001, protocol: 'HTTPS' }, tls: { skipClientCertValidation: false } }] })).outcome).toBe('accepted');
    expect(reason(ib({ backends: [] }))).toBe('spec.backends: must have at least 1 item(s)');
    expect(reason(ib({ backends: [{ name: 'httpbin', port: { number: 0, protocol: 'http' } }] }))).toBe('spec.backends[0].port.number: must be an integer 1-65535, got 0');
    expect(reason(ib({ backends: [{ name: 'httpbin', port: { number: 80, protocol: 'grpc' } }] }))).toBe('spec.backends[0].port.protocol: must be http or https, got "grpc"');
    expect(reason(ib({ backends: [{ name: 'httpbin', port: { number: 80, protocol: 'http' }, tls: { sniHosts: ['a.b'] } }] }))).toBe('spec.backends[0].tls: applies to https backends only');
    expect(reason(ib({ sources: [{ kind: 'Pod', name: 'x' }] }))).toBe('spec.sources[0].kind: must be Service, AuthenticatedPrincipal or IPRange, got "Pod"');
    expect(reason(ib({ sources: [{ kind: 'IPRange', name: '10.0.0.0' }] }))).toBe('spec.sources[0].name: "10.0.0.0" is not an IP range: it needs a prefix length (e.g. /32)');
    expect(reason(ib({ sources: [{ kind: 'IPRange', name: '10.0.0.0/33' }] }))).toBe('spec.sources[0].name: "10.0.0.0/33": prefix length must be 0-32');
  });

  it('refuses bad Egress fields with the field and why', () => {
    const eg = (spec: Record<string, unknown>): KubeObject => ({
      apiVersion: 'policy.openservicemesh.io/v1alpha1',
      kind: 'Egress',
      metadata: { name: 'e', namespace: 'curl' },
      spec: { sources: [{ kind: 'ServiceAccount', name: 'curl', namespace: 'curl' }], hosts: ['httpbin.org'], ports: [{ number: 80, protocol: 'http' }], ...spec },
    });
    expect(validateObject(eg({})).outcome).toBe('accepted');
    expect(validateObject(eg({ hosts: ['*.Example.com'] })).outcome).toBe('accepted');
    expect(reason(eg({ hosts: undefined }))).toBe('spec: needs hosts or ipAddresses');
    expect(reason(eg({ hosts: ['a..b'] }))).toMatch(/^spec\.hosts\[0\]: "a\.\.b" is not a host name/);
    expect(reason(eg({ hosts: undefined, ipAddresses: ['10.0.0.0/8'] }))).toBe('spec.ports[0].protocol: http egress needs spec.hosts (it matches by Host header or SNI)');
    expect(reason(eg({ ports: [{ number: 80, protocol: 'udp' }] }))).toBe('spec.ports[0].protocol: must be http, https or tcp, got "udp"');
    expect(reason(eg({ sources: [] }))).toBe('spec.sources: must have at least 1 item(s)');
    expect(reason(eg({ matches: [{ kind: 'TCPRoute', name: 'x' }] }))).toBe('spec.matches[0].kind: must be HTTPRouteGroup, got "TCPRoute"');
  });

  it('reads Kubernetes (Go) durations', () => {
    expect([goDurationMs('1s'), goDurationMs('250ms'), goDurationMs('1m30s'), goDurationMs('1.5h'), goDurationMs('1000us')]).toEqual([1000, 250, 90_000, 5_400_000, 1]);
    expect([goDurationMs('1'), goDurationMs(''), goDurationMs('s'), goDurationMs('1d')]).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('keeps the last good version, shown in /debug/policies with the reason, and notes what gRPC cannot do', () => {
    const store = new MeshStore(fakeDeps());
    const sink = store.sinkFor('file');
    sink.apply(retry({ retryPolicy: { retryOn: '5xx,retriable-4xx,unavailable', numRetries: 2 } }));
    expect(store.policyStatuses()).toEqual([
      {
        kind: 'Retry',
        namespace: 'curl',
        name: 'r',
        source: 'file',
        status: 'accepted',
        reason: 'proxyless gRPC: retryOn "retriable-4xx" has no gRPC status equivalent and is not applied there',
      },
    ]);
    sink.apply(retry({ retryPolicy: { retryOn: '5xx', numRetries: 'two' } }));
    expect(store.policyStatuses()).toEqual([
      { kind: 'Retry', namespace: 'curl', name: 'r', source: 'file', status: 'invalid', reason: 'spec.retryPolicy.numRetries: must be an integer 0-4294967295, got "two" (keeping the last good version)' },
    ]);
    expect(store.list('Retry')[0]?.spec.retryPolicy.numRetries).toBe(2);
  });
});
