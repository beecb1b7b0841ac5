import { SecretValue, parseNodeId } from '@trellis/plugin-sdk';
import type { BootstrapRequest } from '@trellis/plugin-sdk';
import { recordRegistrations, runPluginConformance } from '@trellis/plugin-sdk/testing';
import { describe, expect, it } from 'vitest';
import plugin, { SERVER_LISTENER_TEMPLATE, grpcBootstrap } from './index.ts';

const KEY = '-----BEGIN PRIVATE KEY-----\nTOP-SECRET\n-----END PRIVATE KEY-----\n';
const req: BootstrapRequest = {
  node: { uuid: '6f1c2a4e-0b7d-4c1e-9a3b-2d5e8f7a9c10', kind: 'grpc', namespace: 'bookstore', serviceAccount: 'bookbuyer', trustDomain: 'cluster.local' },
  controllerAddress: '127.0.0.1:15129',
  outDir: '/var/run/trellis',
  certificate: {
    certificatePem: 'LEAF',
    chainPem: 'LEAF+INTERMEDIATE',
    privateKey: new SecretValue(KEY),
    issuingCaPem: 'ISSUER',
    trustBundlePem: 'ROOT1ROOT2',
    serialNumber: '01',
    notBefore: new Date(0),
    notAfter: new Date(1),
  },
};

describe('bootstrap', () => {
  it('writes bootstrap.json for grpc-js-xds plus the combined identity file, certificate, key (0600) and trust bundle', () => {
    const files = grpcBootstrap(req);
    expect(files.map((f) => [f.path, f.mode])).toEqual([
      ['bootstrap.json', 0o644],
      ['identity.pem', 0o600],
      ['cert.pem', 0o644],
      ['key.pem', 0o600],
      ['ca.pem', 0o644],
    ]);
    expect(files[1]?.content).toBe(`LEAF+INTERMEDIATE\n${KEY}`);
    expect(files[2]?.content).toBe('LEAF+INTERMEDIATE');
    expect(files[3]?.content).toBe(KEY);
    expect(files[4]?.content).toBe('ROOT1ROOT2');
    const b = JSON.parse(files[0]?.content ?? '') as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(b.xds_servers).toEqual([{ server_uri: '127.0.0.1:15129', channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3', 'ignore_resource_deletion'] }]);
    expect(b.node).toEqual({ id: '6f1c2a4e-0b7d-4c1e-9a3b-2d5e8f7a9c10.grpc.bookbuyer.bookstore.cluster.local', locality: {} });
    expect(parseNodeId(b.node.id)).toEqual(req.node);
    expect(b.server_listener_resource_name_template).toBe(SERVER_LISTENER_TEMPLATE);
    expect(b.certificate_providers).toEqual({
      default: {
        plugin_name: 'file_watcher',
        config: {
          certificate_file: '/var/run/trellis/cert.pem',
          private_key_file: '/var/run/trellis/key.pem',
          ca_certificate_file: '/var/run/trellis/ca.pem',
          refresh_interval: '1s',
        },
      },
    });
    expect(files[0]?.content).not.toContain('TOP-SECRET');
  });

  it('reads certificate and key from the one identity file when asked (atomic rotation)', () => {
    const b = JSON.parse(grpcBootstrap(req, { certificateFiles: 'combined' })[0]?.content ?? '') as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(b.certificate_providers.default.config).toMatchObject({
      certificate_file: '/var/run/trellis/identity.pem',
      private_key_file: '/var/run/trellis/identity.pem',
      ca_certificate_file: '/var/run/trellis/ca.pem',
    });
  });
});

describe('plugin', () => {
  it('passes the proxy conformance run and exposes the grpc node kind', async () => {
    const report = await runPluginConformance(plugin, { config: { refreshInterval: '5s' } });
    expect(report.kind).toBe('proxy');
    const created = await plugin.create({
      ...recordRegistrations(plugin),
      config: { refreshInterval: '5s', memoSize: 10, certificateFiles: 'combined' },
      deps: {},
      logger: report.logger,
      mesh: { name: 'test', trustDomain: 'cluster.local' },
      baseDir: '.',
      resources: { create: () => { throw new Error('unused'); } },
    });
    expect(created.nodeKind).toBe('grpc');
    expect(created.servesSecrets).toBe(false);
    const files = await created.bootstrap?.(req);
    const cfg = JSON.parse(files?.[0]?.content ?? '{}').certificate_providers.default.config;
    expect(cfg.refresh_interval).toBe('5s');
    expect(cfg.private_key_file).toBe('/var/run/trellis/identity.pem');
  });

  it('rejects a bad refresh interval with its path', () => {
    const r = plugin.configSchema?.parse({ refreshInterval: 'soon' }, [], { baseDir: '.' });
    expect(r?.ok).toBe(false);
    expect(plugin.configSchema?.parse(undefined, [], { baseDir: '.' }).ok).toBe(true);
  });
});
