/** @trellis/plugin-proxy-grpc — `use: grpc`: proxyless gRPC clients and servers (@grpc/grpc-js-xds & co). */
import { definePlugin, s } from '@trellis/plugin-sdk';
import { grpcBootstrap } from './bootstrap.ts';
import { createGrpcGenerator, createGrpcStandIns } from './generator.ts';

export { createGrpcGenerator, createGrpcStandIns } from './generator.ts';
export { DENIED_CLUSTER } from './internal/deny.ts';
export type { GrpcGeneratorOptions } from './generator.ts';
export { BOOTSTRAP_FILES, bootstrapConfig, grpcBootstrap } from './bootstrap.ts';
export type { GrpcBootstrapOptions } from './bootstrap.ts';
export { CERT_PROVIDER_INSTANCE, SERVER_LISTENER_TEMPLATE, serverListenerName, outboundRouteName } from './internal/names.ts';

export const configSchema = s.object({
  refreshInterval: s.default(
    s.string({ minLength: 2, pattern: /^\d+(\.\d+)?s$/, patternHint: 'a duration in seconds such as "1s"', description: 'how often grpc-js re-reads the certificate files (`file_watcher`)' }),
    '1s',
  ),
  memoSize: s.default(s.number({ min: 1, integer: true, description: 'shared resources kept for reuse across proxies' }), 20_000),
  certificateFiles: s.default(
    s.literal(['separate', 'combined'], {
      description: 'bootstraps point grpc-js at one `identity.pem` (chain + key), so a re-read during rotation never pairs a new certificate with an old key; or at separate files',
    }),
    'combined',
  ),
});

/** `use: grpc` — the proxyless gRPC backend. */
export default definePlugin({
  name: 'grpc',
  kind: 'proxy',
  nodeKind: 'grpc',
  version: '0.1.0',
  coreRange: '^0.1.0',
  stability: 'alpha',
  description: 'Proxyless gRPC (grpc-js-xds, grpc-go, grpc-java): api_listeners, RDS, EDS with mTLS via certificate providers, server Listeners with RBAC.',
  configSchema,
  create: (ctx) => {
    const generate = createGrpcGenerator({ memoSize: ctx.config.memoSize });
    const standIn = createGrpcStandIns({ memoSize: ctx.config.memoSize });
    return {
      nodeKind: 'grpc',
      servesSecrets: false,
      generate: (view, gctx) => generate(view, gctx),
      standIn: (typeUrl, name, sctx) => standIn(typeUrl, name, sctx),
      bootstrap: (req) => grpcBootstrap(req, { refreshInterval: ctx.config.refreshInterval, certificateFiles: ctx.config.certificateFiles }),
    };
  },
});
