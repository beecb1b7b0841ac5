import { describe, expect, it } from 'vitest';
import { nackReason, ProxyVersionLabels } from './xds-metrics.ts';

describe('xDS metric labels stay bounded', () => {
  it('classifies NACK messages from Envoy and gRPC into a fixed set of reasons', () => {
    expect(nackReason('Proto constraint validation failed (ClusterValidationError.Name: value length must be at least 1 characters)')).toBe('validation');
    expect(nackReason("Didn't find a registered implementation for 'envoy.filters.http.nope' with type URL: ''")).toBe('unsupported');
    expect(nackReason('Error adding/updating listener(s) in: duplicate listener in found')).toBe('duplicate');
    expect(nackReason('cluster foo not found')).toBe('reference');
    expect(nackReason('Failed to load certificate chain from <inline>')).toBe('tls');
    expect(nackReason('bad 1')).toBe('other');
  });

  it('labels proxy versions from the user agent, at most 16 distinct values', () => {
    const l = new ProxyVersionLabels();
    expect(l.label({ user_agent_name: 'envoy', user_agent_build_version: { version: { major_number: 1, minor_number: 31, patch: 2 }, metadata: null }, user_agent_version_type: 'user_agent_build_version' } as never)).toBe('envoy/1.31.2');
    expect(l.label({ user_agent_name: 'gRPC Node', user_agent_version: '1.14.1' })).toBe('gRPC_Node/1.14.1');
    expect(l.label(undefined)).toBe('unknown');
    for (let i = 0; i < 30; i++) l.label({ user_agent_name: 'x', user_agent_version: String(i) });
    expect(l.label({ user_agent_name: 'x', user_agent_version: '99' })).toBe('other');
    expect(l.label({ user_agent_name: 'envoy', user_agent_build_version: { version: { major_number: 1, minor_number: 31, patch: 2 } } })).toBe('envoy/1.31.2');
  });
});
