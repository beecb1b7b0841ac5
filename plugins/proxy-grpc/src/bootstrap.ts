import { join } from 'node:path';
import { WORKLOAD_CERT_FILES, formatNodeId, workloadCertFiles } from '@trellis/plugin-sdk';
import type { BootstrapFile, BootstrapRequest } from '@trellis/plugin-sdk';
import { CERT_PROVIDER_INSTANCE, SERVER_LISTENER_TEMPLATE } from './internal/names.ts';

export interface GrpcBootstrapOptions {
  /** How often grpc-js-xds re-reads the certificate files (a Duration string). Default `1s`. */
  readonly refreshInterval?: string;
  /**
   * Where grpc-js-xds reads certificate and key. `separate`: cert.pem and key.pem, two renames per rotation, so
   * a re-read between them pairs a new certificate with the old key and new connections fail until the next
   * re-read. `combined`: both from identity.pem (chain + key), one atomic rename; needs a writer (the agent)
   * that rewrites identity.pem (the SDK's `workloadCertFiles`). Default `separate`.
   */
  readonly certificateFiles?: 'separate' | 'combined';
}

/** File names in the bootstrap directory; the certificate files are the SDK's (the agent rewrites them). */
export const BOOTSTRAP_FILES = { bootstrap: 'bootstrap.json', ...WORKLOAD_CERT_FILES } as const;

/**
 * `ignore_resource_deletion`: grpc-js-xds 1.14 keeps a deleted Listener/Cluster in its cache and, when the
 * identical resource comes back (access revoked, then granted again), treats it as unchanged and never tells
 * the channel, which then fails forever. Ignoring deletions avoids that; access stays enforced where SMI puts
 * it, at the destination (server RBAC), so a revoked client gets PERMISSION_DENIED instead of UNAVAILABLE.
 */
const SERVER_FEATURES = ['xds_v3', 'ignore_resource_deletion'];

/** The bootstrap object grpc-js-xds reads (`GRPC_XDS_BOOTSTRAP` file or the test-only channel option). */
export function bootstrapConfig(req: Omit<BootstrapRequest, 'certificate'>, options: GrpcBootstrapOptions = {}): Record<string, unknown> {
  const combined = options.certificateFiles === 'combined';
  return {
    xds_servers: [{ server_uri: req.controllerAddress, channel_creds: [{ type: 'insecure' }], server_features: SERVER_FEATURES }],
    node: { id: formatNodeId(req.node), locality: {} },
    server_listener_resource_name_template: SERVER_LISTENER_TEMPLATE,
    certificate_providers: {
      [CERT_PROVIDER_INSTANCE]: {
        plugin_name: 'file_watcher',
        config: {
          certificate_file: join(req.outDir, combined ? BOOTSTRAP_FILES.identity : BOOTSTRAP_FILES.certificate),
          private_key_file: join(req.outDir, combined ? BOOTSTRAP_FILES.identity : BOOTSTRAP_FILES.privateKey),
          ca_certificate_file: join(req.outDir, BOOTSTRAP_FILES.ca),
          refresh_interval: options.refreshInterval ?? '1s',
        },
      },
    },
  };
}

/**
 * `bootstrap.json` plus the SDK's workload certificate files (`workloadCertFiles`: identity.pem = chain + key
 * (0600), cert.pem, key.pem (0600), ca.pem). grpc-js-xds cannot use TLS to the control
 * plane, so `controllerAddress` must be the controller's plaintext ADS listener.
 */
export function grpcBootstrap(req: BootstrapRequest, options: GrpcBootstrapOptions = {}): BootstrapFile[] {
  return [
    { path: BOOTSTRAP_FILES.bootstrap, content: `${JSON.stringify(bootstrapConfig(req, options), null, 2)}\n`, mode: 0o644 },
    ...workloadCertFiles(req.certificate),
  ];
}
