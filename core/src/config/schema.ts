import { s, KEY_TYPES, type Infer } from '@trellis/plugin-sdk';

const hostPort = (what: string) =>
  s.string({ description: `${what} as host:port`, pattern: /^(\[[0-9a-fA-F:]+\]|[^\s:]+):\d{1,5}$/, patternHint: 'host:port (e.g. 127.0.0.1:9091)' });

const pluginEntry = s.object({
  use: s.string({ minLength: 1, description: 'a built-in plugin name, an npm package name, or a path' }),
  name: s.optional(s.string({ pattern: /^[a-z][a-z0-9-]*$/, patternHint: 'lower-case letters, digits and dashes' })),
  config: s.optional(s.unknown({ description: "the plugin's own settings" })),
});
export type PluginEntry = Infer<typeof pluginEntry>;

/** The config file's shape. Plugin `config` blocks are decoded later by each plugin's own schema. */
export const configSchema = s.object({
  mesh: s.section({
      name: s.default(s.string({ minLength: 1 }), 'trellis'),
      trustDomain: s.default(
        s.string({ pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, patternHint: 'a DNS name like cluster.local' }),
        'cluster.local',
      ),
  }),
  plugins: s.object({
    sources: s.default(s.array(pluginEntry), []),
    proxies: s.default(s.array(pluginEntry), []),
    // One entry; a list is accepted so that "two providers" gets a clear error instead of a type error.
    certificates: s.optional(s.unknown({ description: 'one plugin entry { use, config }' })),
    observability: s.default(s.array(pluginEntry), []),
  }),
  xds: s.section({
      address: s.default(hostPort('ADS mTLS listener'), '0.0.0.0:15128'),
      plaintextAddress: s.optional(hostPort('plaintext listener for proxyless clients (development / same-host mode)')),
      debounce: s.section({ quiet: s.default(s.duration(), 50), max: s.default(s.duration(), 250) }),
      maxStreams: s.default(s.number({ integer: true, min: 1 }), 20_000),
      connectionsPerSecond: s.default(s.number({ min: 1 }), 1000),
      pushConcurrency: s.default(s.number({ integer: true, min: 1 }), 64),
      plaintextIssuance: s.section({
        rate: s.default(s.number({ min: 0.001, description: 'new workload certificates per second one plaintext source host may cause' }), 1),
        burst: s.default(s.number({ integer: true, min: 1 }), 20),
      }),
      rebuildConcurrency: s.default(s.number({ integer: true, min: 1, description: 'snapshots rebuilt at once' }), 16),
      maxSubscriptionsPerStream: s.default(s.number({ integer: true, min: 1, description: 'resource names one ADS stream may subscribe to' }), 100_000),
      logLinesPerSecond: s.default(s.number({ min: 0.01, description: 'client-triggered xDS warnings logged per second, per kind' }), 10),
      maxBufferedBytesPerStream: s.default(s.number({ integer: true, min: 1024, description: 'bytes a stream may have buffered before its pushes wait' }), 1024 * 1024),
  }),
  admin: s.section({ address: s.default(hostPort('admin HTTP listener'), '127.0.0.1:9091') }),
  certificates: s.section({
      validity: s.default(s.duration({ minMs: 1000 }), 24 * 3600_000),
      renewBefore: s.default(s.number({ min: 0.01, max: 0.9, description: 'fraction of validity left when a certificate is renewed' }), 0.2),
      jitter: s.default(s.number({ min: 0, max: 0.5, description: 'random fraction of validity added to spread renewals' }), 0.05),
      keyType: s.default(s.literal(KEY_TYPES), 'ecdsa-p256'),
      evictUnusedAfter: s.default(s.duration(), 300_000),
  }),
  log: s.section({ level: s.default(s.literal(['debug', 'info', 'warn', 'error', 'silent'] as const), 'info') }),
  shutdown: s.section({ grace: s.default(s.duration(), 10_000) }),
});

export type RawConfig = Infer<typeof configSchema>;
