import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkStrict } from './strict.ts';

const samplesDir = path.resolve(import.meta.dirname, '../../../../test/data/osm-samples');

describe('checkStrict', () => {
  const samples = readdirSync(samplesDir).filter((f) => f.endsWith('.json'));

  it.each(samples)('accepts the real Envoy config dump %s (except the removed build_version)', (file) => {
    const dump = JSON.parse(readFileSync(path.join(samplesDir, file), 'utf8')) as Record<string, unknown>;
    const problems = checkStrict('envoy.admin.v3.ConfigDump', dump);
    expect(problems.filter((p) => !p.includes('hidden_envoy_deprecated_build_version'))).toEqual([]);
  });

  it('reports an unknown key with its path', () => {
    const problems = checkStrict('type.googleapis.com/envoy.config.cluster.v3.Cluster', {
      name: 'c',
      connect_timeout: '1s',
      eds_cluster_config: { service_name: 'x', servicename: 'y' },
    });
    expect(problems).toEqual(['$.eds_cluster_config.servicename: envoy.config.cluster.v3.Cluster.EdsClusterConfig has no field "servicename"']);
  });

  it('reports wrong value types, bad enums, bad durations', () => {
    const problems = checkStrict('envoy.config.cluster.v3.Cluster', {
      name: 5,
      type: 'EDSS',
      connect_timeout: '1 second',
      per_connection_buffer_limit_bytes: 'many',
    });
    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(/^\$\.name: expected string/);
    expect(problems[1]).toMatch(/^\$\.type: .*EDSS.* not a value of enum envoy\.config\.cluster\.v3\.Cluster\.DiscoveryType/);
    expect(problems[2]).toMatch(/^\$\.connect_timeout: /);
    expect(problems[3]).toMatch(/^\$\.per_connection_buffer_limit_bytes: /);
  });

  it('recurses into Any payloads and rejects unknown @type', () => {
    const problems = checkStrict('envoy.config.listener.v3.Listener', {
      name: 'l',
      filter_chains: [
        {
          filters: [
            {
              name: 'hcm',
              typed_config: {
                '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                stat_prefix: 's',
                rds: { route_config_name: 'r', bogus: 1 },
              },
            },
            { name: 'x', typed_config: { '@type': 'type.googleapis.com/no.such.Type' } },
          ],
        },
      ],
    });
    expect(problems).toHaveLength(2);
    expect(problems[0]).toContain('$.filter_chains[0].filters[0].typed_config<envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager>.rds.bogus');
    expect(problems[1]).toContain('unknown type "type.googleapis.com/no.such.Type"');
  });

  it('lists an unknown top-level type', () => {
    expect(checkStrict('no.such.Type', {})).toEqual(['$: unknown type "no.such.Type"']);
  });

  it('runs extra message rules', () => {
    const problems = checkStrict('envoy.config.cluster.v3.Cluster', { name: '' }, [
      (type, obj, p) => (type.name === 'Cluster' && !obj.name ? [`${p}.name: required`] : []),
    ]);
    expect(problems).toEqual(['$.name: required']);
  });
});
