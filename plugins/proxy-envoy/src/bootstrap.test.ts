import { describe, expect, it } from 'vitest';
import { runPluginConformance } from '@trellis/plugin-sdk/testing';
import { parse } from 'yaml';
import plugin from './index.ts';
import { bootstrapObject, envoyBootstrap, parseHostPort } from './bootstrap.ts';
import * as F from './internal/test-fakes.ts';

const node = { uuid: '38cf2479-bfea-4c1e-a961-f8f8e2b2e8cb', kind: 'sidecar', namespace: 'bookbuyer', serviceAccount: 'bookbuyer', trustDomain: 'cluster.local' };
const req = { node, controllerAddress: 'trellis.trellis-system.svc:15128', outDir: '/etc/envoy', certificate: F.certificate() };

describe('envoy bootstrap', () => {
  it('writes bootstrap.yaml, the client certificate, its key (0600) and the CA', () => {
    const files = envoyBootstrap(req);
    expect(files.map((f) => [f.path, f.mode])).toEqual([
      ['bootstrap.yaml', 0o644],
      ['tls.crt', 0o644],
      ['tls.key', 0o600],
      ['ca.crt', 0o644],
      ['xds-client-sds.yaml', 0o644],
    ]);
    expect(files[2]?.content).toContain('SECRETKEY');
    expect(files[0]?.content).not.toContain('SECRETKEY');
  });

  it('names the node, dials ADS over mTLS with the files beside it, admin on 127.0.0.1:15000', () => {
    const b = parse(envoyBootstrap(req)[0]?.content ?? '') as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(b.node).toEqual({ id: '38cf2479-bfea-4c1e-a961-f8f8e2b2e8cb.sidecar.bookbuyer.bookbuyer.cluster.local', cluster: 'bookbuyer.bookbuyer' });
    expect(b.admin.address).toEqual({ socket_address: { address: '127.0.0.1', port_value: 15000 } });
    expect(b.dynamic_resources.ads_config.grpc_services).toEqual([{ envoy_grpc: { cluster_name: 'trellis-controller' } }]);
    const c = b.static_resources.clusters[0];
    expect(c.name).toBe('trellis-controller');
    expect(c.type).toBe('LOGICAL_DNS');
    expect(c.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address).toEqual({ address: 'trellis.trellis-system.svc', port_value: 15128 });
    const tls = c.transport_socket.typed_config;
    // Whatever address it dials, the sidecar checks the controller's own name on its certificate.
    expect(tls.sni).toBe('trellis-controller');
    // The certificate and CA come from file-based SDS watching the directory, so a renewal there is reloaded.
    const sds = { path_config_source: { path: '/etc/envoy/xds-client-sds.yaml', watched_directory: { path: '/etc/envoy' } }, resource_api_version: 'V3' };
    expect(tls.common_tls_context.tls_certificate_sds_secret_configs).toEqual([{ name: 'xds-client-cert', sds_config: sds }]);
    expect(tls.common_tls_context.combined_validation_context).toEqual({
      default_validation_context: { match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: 'trellis-controller' } }] },
      validation_context_sds_secret_config: { name: 'xds-client-ca', sds_config: sds },
    });
    const secrets = parse(envoyBootstrap(req)[4]?.content ?? '') as { resources: Record<string, unknown>[] };
    expect(secrets.resources).toEqual([
      expect.objectContaining({ name: 'xds-client-cert', tls_certificate: { certificate_chain: { filename: '/etc/envoy/tls.crt' }, private_key: { filename: '/etc/envoy/tls.key' } } }),
      expect.objectContaining({ name: 'xds-client-ca', validation_context: { trusted_ca: { filename: '/etc/envoy/ca.crt' } } }),
    ]);
    expect(b.static_resources.listeners).toBeUndefined();
  });

  it('uses a STATIC cluster for an IP address and adds OSM-style probe listeners when configured', () => {
    const b = bootstrapObject({ ...req, controllerAddress: '[::1]:15128' }, { probes: { liveness: { port: 8080, path: '/healthz' } } }) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(b.static_resources.clusters.map((c: { name: string }) => c.name)).toEqual(['trellis-controller', 'liveness_cluster']);
    expect(b.static_resources.clusters[0].type).toBe('STATIC');
    const l = b.static_resources.listeners[0];
    expect(l.name).toBe('liveness_listener');
    expect(l.address.socket_address.port_value).toBe(15901);
    expect(l.filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0]).toEqual({
      match: { prefix: '/osm-liveness-probe' },
      route: { cluster: 'liveness_cluster', prefix_rewrite: '/healthz', timeout: '1s' },
    });
  });

  it('rejects a malformed controller address with a precise error', () => {
    expect(() => parseHostPort('no-port')).toThrow(/controller address "no-port" must look like host:port/);
    expect(() => parseHostPort('h:99999')).toThrow(/port 1-65535/);
  });

  it('is the plugin: use envoy, kind proxy, config with defaults', () => {
    expect(plugin.name).toBe('envoy');
    expect(plugin.kind).toBe('proxy');
    const parsed = plugin.configSchema?.parse({});
    expect(parsed).toEqual({ ok: true, value: { metrics: true, sharedCapacity: 20_000, probes: {} } });
    expect(plugin.configSchema?.parse({ metric: true }).ok).toBe(false);
  });

  it('passes the SDK conformance run (config, create, start, ready, contract, stop twice)', async () => {
    const report = await runPluginConformance(plugin, { config: { metrics: false } });
    expect(report.steps).toContain('contract');
    const instance = report.instance as unknown as { nodeKind: string; servesSecrets: boolean };
    expect([instance.nodeKind, instance.servesSecrets]).toEqual(['sidecar', true]);
  });
});
