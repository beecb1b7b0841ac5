import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateBootstrap, validateConfigDump, validateEnvoyResource } from './index.ts';

const samplesDir = path.resolve(import.meta.dirname, '../../../../test/data/osm-samples');
const CLUSTER = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
const LISTENER = 'envoy.config.listener.v3.Listener';

const goodCluster = () => ({
  name: 'ns/svc|80',
  type: 'EDS',
  connect_timeout: '1s',
  eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } },
});

describe('validateConfigDump', () => {
  const samples = readdirSync(samplesDir).filter((f) => f.endsWith('.json'));
  it.each(samples)('accepts the real Envoy config dump %s', (file) => {
    const dump = JSON.parse(readFileSync(path.join(samplesDir, file), 'utf8')) as Record<string, unknown>;
    expect(validateConfigDump(dump)).toEqual([]);
  });

  it('still reports the removed build_version when asked to be exact', () => {
    const dump = JSON.parse(readFileSync(path.join(samplesDir, 'sample-envoy-config-dump-bookbuyer.json'), 'utf8')) as Record<string, unknown>;
    const problems = validateConfigDump(dump, { allowLegacyBuildVersion: false });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('hidden_envoy_deprecated_build_version');
  });

  it('rejects a dump whose embedded resource breaks a validate rule', () => {
    const dump = JSON.parse(readFileSync(path.join(samplesDir, 'sample-envoy-config-dump-bookbuyer.json'), 'utf8')) as {
      configs: { dynamic_active_clusters?: { cluster: Record<string, unknown> }[] }[];
    };
    const clusters = dump.configs.find((c) => c.dynamic_active_clusters)?.dynamic_active_clusters;
    if (!clusters?.[0]) throw new Error('sample changed');
    clusters[0].cluster.connect_timeout = '0s';
    const problems = validateConfigDump(dump);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/dynamic_active_clusters\[0\]\.cluster<envoy\.config\.cluster\.v3\.Cluster>\.connect_timeout: must be > 0s$/);
  });
});

describe('validateEnvoyResource: protoc-gen-validate rules', () => {
  it('accepts a valid cluster', () => {
    expect(validateEnvoyResource(CLUSTER, goodCluster())).toEqual([]);
  });

  it('string.min_len on a proto3 scalar, even when absent', () => {
    const { name: _name, ...rest } = goodCluster();
    expect(validateEnvoyResource(CLUSTER, rest)).toEqual(['$.name: must be at least 1 character(s) long']);
    expect(validateEnvoyResource(CLUSTER, { ...goodCluster(), name: '' })).toEqual(['$.name: must be at least 1 character(s) long']);
  });

  it('duration gt, numeric lte, enum defined_only', () => {
    const problems = validateEnvoyResource(CLUSTER, {
      ...goodCluster(),
      connect_timeout: '-1s',
      load_assignment: { cluster_name: 'c', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'h', port_value: 70000 } } } }] }] },
      dns_lookup_family: 17,
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        '$.connect_timeout: must be > 0s',
        '$.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value: must be <= 65535',
      ]),
    );
    expect(problems.some((p) => p.startsWith('$.dns_lookup_family: '))).toBe(true);
  });

  it('required oneof and message.required, inside Any payloads', () => {
    const problems = validateEnvoyResource(LISTENER, {
      name: 'l',
      address: { socket_address: { address: '0.0.0.0' } },
      filter_chains: [
        {
          filters: [
            {
              name: 'hcm',
              typed_config: {
                '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                stat_prefix: 's',
                route_config: { name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: {}, route: { cluster: 'c' } }] }] },
              },
            },
          ],
        },
      ],
    });
    expect(problems).toEqual([
      '$.address.socket_address: one of port_value, named_port is required',
      expect.stringMatching(/HttpConnectionManager>\.route_config\.virtual_hosts\[0\]\.routes\[0\]\.match: one of prefix, path, safe_regex.* is required$/),
    ]);
  });

  it('repeated.min_items and message.required', () => {
    const problems = validateEnvoyResource('envoy.config.route.v3.RouteConfiguration', {
      name: 'r',
      virtual_hosts: [{ name: 'v', domains: [], routes: [{ match: { prefix: '/' }, route: { weighted_clusters: { clusters: [] } } }] }],
    });
    // Children are checked before their parent's own rules.
    expect(problems).toEqual([
      '$.virtual_hosts[0].routes[0].route.weighted_clusters.clusters: must have at least 1 item(s)',
      '$.virtual_hosts[0].domains: must have at least 1 item(s)',
    ]);
    expect(validateEnvoyResource('envoy.config.rbac.v3.Policy', { permissions: [{ any: true }] })).toEqual([
      '$.principals: must have at least 1 item(s)',
    ]);
  });

  it('keeps the strict problems (unknown fields, bad Any types)', () => {
    expect(validateEnvoyResource(CLUSTER, { ...goodCluster(), conect_timeout: '1s' })).toEqual([
      '$.conect_timeout: envoy.config.cluster.v3.Cluster has no field "conect_timeout"',
    ]);
  });

  it('validates a bootstrap', () => {
    expect(validateBootstrap({ node: { id: 'x' }, admin: { address: { socket_address: { address: '127.0.0.1', port_value: 15000 } } } })).toEqual([]);
    expect(validateBootstrap({ admin: { address: { socket_address: { address: '', port_value: 15000 } } } })).toEqual([
      '$.admin.address.socket_address.address: must be at least 1 character(s) long',
    ]);
  });
});

describe('validateEnvoyResource: HTTP header rules', () => {
  it('checks header names (well_known_regex) strictly or loosely as the proto says', () => {
    // HeaderMatcher.name is HTTP_HEADER_NAME with strict: false: only NUL, CR and LF are refused.
    expect(validateEnvoyResource('envoy.config.route.v3.HeaderMatcher', { name: 'x header', present_match: true })).toEqual([]);
    expect(validateEnvoyResource('envoy.config.route.v3.HeaderMatcher', { name: 'x\nheader', present_match: true })).toEqual([
      '$.name: must be a valid HTTP header name',
    ]);
    expect(validateEnvoyResource('envoy.config.core.v3.HeaderValue', { key: 'x-ok', value: 'a\r\nb' })).toEqual(['$.value: must be a valid HTTP header value']);
    expect(validateEnvoyResource('envoy.config.core.v3.HeaderValue', { key: 'x-ok', value: 'v' })).toEqual([]);
  });
});
