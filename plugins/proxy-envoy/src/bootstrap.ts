import { isIP } from 'node:net';
import path from 'node:path';
import { stringify } from 'yaml';
import { CONTROLLER_SERVER_NAME, ErrorCodes, ExtensionTypeUrls, TrellisError, TypeUrls, formatNodeId } from '@trellis/plugin-sdk';
import type { BootstrapFile, BootstrapRequest } from '@trellis/plugin-sdk';
import { ClusterNames, Ports } from './names.ts';
import { FilterNames, singleHostAssignment, socketAddress, tlsParams } from './internal/common.ts';

/** The bootstrap is YAML in proto3 JSON form (Envoy parses it), not an encoded resource: plain objects. */
type Obj = Record<string, unknown>;
const Types = {
  stdoutLog: ExtensionTypeUrls.stdoutAccessLog,
  hcm: ExtensionTypeUrls.httpConnectionManager,
  router: ExtensionTypeUrls.router,
  upstreamTls: ExtensionTypeUrls.upstreamTls,
  httpProtocolOptions: ExtensionTypeUrls.httpProtocolOptions,
} as const;

/** An HTTP probe rewritten as OSM does: `/osm-<kind>-probe` on 1590x, passed to the app's own probe. */
export interface ProbeSpec {
  /** The app's probe port. */
  readonly port: number;
  /** The app's probe path. */
  readonly path: string;
}

export interface BootstrapOptions {
  readonly probes?: { readonly liveness?: ProbeSpec; readonly readiness?: ProbeSpec; readonly startup?: ProbeSpec };
}

export const BootstrapFiles = { bootstrap: 'bootstrap.yaml', cert: 'tls.crt', key: 'tls.key', ca: 'ca.crt', sds: 'xds-client-sds.yaml' } as const;

/** SDS secret names of the xDS client certificate and the CA it checks the controller against (file-based SDS). */
export const BootstrapSecrets = { cert: 'xds-client-cert', ca: 'xds-client-ca' } as const;

const PROBE_PORTS = { liveness: 15901, readiness: 15902, startup: 15903 } as const;

/** `host:port` or `[v6]:port`. */
export function parseHostPort(address: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:]+):(\d+)$/.exec(address);
  const port = Number(m?.[2]);
  if (!m?.[1] || !Number.isInteger(port) || port < 1 || port > 65535)
    throw new TrellisError(ErrorCodes.CONFIG_INVALID, `controller address "${address}" must look like host:port (port 1-65535)`);
  return { host: m[1], port };
}

function stdoutLog(): Obj[] {
  return [{ name: 'envoy.access_loggers.stream', typed_config: { '@type': Types.stdoutLog } }];
}

function probeListener(kind: keyof typeof PROBE_PORTS, probe: ProbeSpec): { listener: Obj; cluster: Obj } {
  const cluster = `${kind}_cluster`;
  return {
    cluster: { name: cluster, type: 'STATIC', connect_timeout: '1s', load_assignment: singleHostAssignment(cluster, '127.0.0.1', probe.port) },
    listener: {
      name: `${kind}_listener`,
      address: socketAddress('0.0.0.0', PROBE_PORTS[kind]),
      filter_chains: [
        {
          filters: [
            {
              name: FilterNames.hcm,
              typed_config: {
                '@type': Types.hcm,
                stat_prefix: 'health_probes_http',
                access_log: stdoutLog(),
                route_config: {
                  name: 'local_route',
                  virtual_hosts: [
                    {
                      name: 'local_service',
                      domains: ['*'],
                      routes: [{ match: { prefix: `/osm-${kind}-probe` }, route: { cluster, prefix_rewrite: probe.path, timeout: '1s' } }],
                    },
                  ],
                },
                http_filters: [{ name: FilterNames.router, typed_config: { '@type': Types.router } }],
              },
            },
          ],
        },
      ],
    },
  };
}

/** The bootstrap object (Envoy v3 Bootstrap, proto field names). */
export function bootstrapObject(req: BootstrapRequest, options: BootstrapOptions = {}): Obj {
  const { host, port } = parseHostPort(req.controllerAddress);
  const sdsFile = { path_config_source: { path: path.join(req.outDir, BootstrapFiles.sds), watched_directory: { path: req.outDir } }, resource_api_version: 'V3' };
  const controller: Obj = {
    name: ClusterNames.controller,
    type: isIP(host) ? 'STATIC' : 'LOGICAL_DNS',
    connect_timeout: '1s',
    load_assignment: singleHostAssignment(ClusterNames.controller, host, port),
    transport_socket: {
      name: FilterNames.tlsSocket,
      typed_config: {
        '@type': Types.upstreamTls,
        common_tls_context: {
          tls_params: tlsParams(),
          alpn_protocols: ['h2'],
          // From a file-based SDS source watching the directory: when `trellis agent --node-id` renews the
          // certificate (or the CA bundle) there, Envoy reloads it without a restart.
          tls_certificate_sds_secret_configs: [{ name: BootstrapSecrets.cert, sds_config: sdsFile }],
          // The mesh CA and the controller's own name: another workload's certificate cannot pose as the controller.
          combined_validation_context: {
            default_validation_context: { match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: CONTROLLER_SERVER_NAME } }] },
            validation_context_sds_secret_config: { name: BootstrapSecrets.ca, sds_config: sdsFile },
          },
        },
        sni: CONTROLLER_SERVER_NAME,
      },
    },
    typed_extension_protocol_options: {
      [FilterNames.httpProtocolOptions]: { '@type': Types.httpProtocolOptions, explicit_http_config: { http2_protocol_options: {} } },
    },
  };
  const probes = (['liveness', 'readiness', 'startup'] as const).flatMap((kind) => {
    const spec = options.probes?.[kind];
    return spec ? [probeListener(kind, spec)] : [];
  });
  const ads = { ads: {}, resource_api_version: 'V3' };
  return {
    node: { id: formatNodeId(req.node), cluster: `${req.node.serviceAccount}.${req.node.namespace}` },
    admin: { access_log: stdoutLog(), address: socketAddress('127.0.0.1', Ports.admin) },
    dynamic_resources: {
      ads_config: {
        api_type: 'GRPC',
        transport_api_version: 'V3',
        set_node_on_first_message_only: true,
        grpc_services: [{ envoy_grpc: { cluster_name: ClusterNames.controller } }],
      },
      cds_config: ads,
      lds_config: ads,
    },
    static_resources: {
      clusters: [controller, ...probes.map((p) => p.cluster)],
      ...(probes.length > 0 ? { listeners: probes.map((p) => p.listener) } : {}),
    },
  };
}

/**
 * `bootstrap.yaml` plus the xDS client certificate, its key (mode 0600) and the CA it trusts, all in one
 * directory; the bootstrap points at the files by their paths under `req.outDir`.
 */
export function envoyBootstrap(req: BootstrapRequest, options: BootstrapOptions = {}): BootstrapFile[] {
  const yaml = `# Envoy bootstrap for ${formatNodeId(req.node)} (generated by trellis bootstrap envoy)\n${stringify(bootstrapObject(req, options))}`;
  return [
    { path: BootstrapFiles.bootstrap, content: yaml, mode: 0o644 },
    { path: BootstrapFiles.cert, content: req.certificate.chainPem, mode: 0o644 },
    { path: BootstrapFiles.key, content: req.certificate.privateKey.reveal(), mode: 0o600 },
    { path: BootstrapFiles.ca, content: req.certificate.trustBundlePem, mode: 0o644 },
    { path: BootstrapFiles.sds, content: stringify(sdsSecrets(req.outDir)), mode: 0o644 },
  ];
}

/** The file-based SDS response the bootstrap's controller cluster reads: the secrets point at the files beside it. */
export function sdsSecrets(outDir: string): Obj {
  const file = (name: string) => ({ filename: path.join(outDir, name) });
  const secret = TypeUrls.secret;
  return {
    resources: [
      { '@type': secret, name: BootstrapSecrets.cert, tls_certificate: { certificate_chain: file(BootstrapFiles.cert), private_key: file(BootstrapFiles.key) } },
      { '@type': secret, name: BootstrapSecrets.ca, validation_context: { trusted_ca: file(BootstrapFiles.ca) } },
    ],
  };
}
