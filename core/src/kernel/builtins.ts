/** Built-in plugins by their `use:` name: packages @trellis/core depends on. */
export const BUILTIN_PLUGINS: Readonly<Record<string, string>> = {
  file: '@trellis/plugin-source-file',
  envoy: '@trellis/plugin-proxy-envoy',
  grpc: '@trellis/plugin-proxy-grpc',
  selfsigned: '@trellis/plugin-certs-selfsigned',
  vault: '@trellis/plugin-certs-vault',
  'cert-manager': '@trellis/plugin-certs-cert-manager',
  kubernetes: '@trellis/plugin-source-kubernetes',
  prometheus: '@trellis/plugin-observability-prometheus',
  otel: '@trellis/plugin-observability-otel',
};

/**
 * Their loaders: static specifiers, so the module loader in use (Node, tsx, vitest) resolves each package with
 * its own export conditions (the workspace's sources under `@trellis/source`, the build otherwise). Loaded
 * lazily so an unused plugin costs nothing at startup.
 */
export const BUILTIN_LOADERS: Readonly<Record<string, () => Promise<{ default?: unknown }>>> = {
  file: () => import('@trellis/plugin-source-file'),
  envoy: () => import('@trellis/plugin-proxy-envoy'),
  grpc: () => import('@trellis/plugin-proxy-grpc'),
  selfsigned: () => import('@trellis/plugin-certs-selfsigned'),
  vault: () => import('@trellis/plugin-certs-vault'),
  'cert-manager': () => import('@trellis/plugin-certs-cert-manager'),
  kubernetes: () => import('@trellis/plugin-source-kubernetes'),
  prometheus: () => import('@trellis/plugin-observability-prometheus'),
  otel: () => import('@trellis/plugin-observability-otel'),
};
