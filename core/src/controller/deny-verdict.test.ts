import { describe, expect, it } from 'vitest';
import { serviceOfAuthority } from './deny-verdict.ts';

describe('serviceOfAuthority', () => {
  it('reads every hostname form the catalog gives a Service, with and without a port', () => {
    expect(serviceOfAuthority('b', 't')).toEqual({ namespace: 't', name: 'b' });
    expect(serviceOfAuthority('b:8080', 't')).toEqual({ namespace: 't', name: 'b', port: 8080 });
    expect(serviceOfAuthority('b.other:8080', 't')).toEqual({ namespace: 'other', name: 'b', port: 8080 });
    expect(serviceOfAuthority('b.other.svc', 't')).toEqual({ namespace: 'other', name: 'b' });
    expect(serviceOfAuthority('b.other.svc.cluster.local:9', 't')).toEqual({ namespace: 'other', name: 'b', port: 9 });
    expect(serviceOfAuthority('B.Other:1', 't')).toEqual({ namespace: 'other', name: 'b', port: 1 });
  });

  it('refuses what cannot be a Service name', () => {
    for (const a of ['api.example.com', 'api.example.com:443', '', ':80', 'b:', '[::1]:80', 'b..t', 'b t', 'b:8080:1', '-b.t'])
      expect(serviceOfAuthority(a, 't'), a).toBeUndefined();
  });
});
