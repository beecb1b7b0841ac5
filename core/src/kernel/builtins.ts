/** Built-in plugins by their `use:` name. Loaded lazily so an unused plugin costs nothing at startup. */
export const BUILTIN_PLUGINS: Readonly<Record<string, string>> = {
  file: '@trellis/plugin-source-file',
  envoy: '@trellis/plugin-proxy-envoy',
  grpc: '@trellis/plugin-proxy-grpc',
  selfsigned: '@trellis/plugin-certs-selfsigned',
  vault: '@trellis/plugin-certs-vault',
};
