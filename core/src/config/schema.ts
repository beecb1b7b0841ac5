import { s, KEY_TYPES, type Infer } from '@trellis/plugin-sdk';
import { listenAddressProblem } from './addresses.ts';

const hostPort = (description: string) =>
  s.refine(
    s.string({ description, pattern: /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):\d{1,5}$/, patternHint: 'host:port, e.g. 127.0.0.1:9091' }),
    listenAddressProblem,
  );

const pluginEntry = s.object({
  use: s.string({ minLength: 1, description: 'a built-in plugin name, an npm package name, or a path' }),
  name: s.optional(s.string({ pattern: /^[a-z][a-z0-9-]*$/, patternHint: 'lower-case letters, digits and dashes', description: 'instance name (default: the plugin\'s name)' })),
  config: s.optional(s.unknown({ description: "the plugin's own settings" })),
});
export type PluginEntry = Infer<typeof pluginEntry>;

/** The config file's shape. Plugin `config` blocks are decoded later by each plugin's own schema. */
export const configSchema = s.object({
  mesh: s.section({
    name: s.default(s.string({ minLength: 1, description: "the mesh's name (logs, metrics)" }), 'trellis'),
    trustDomain: s.default(
      s.string({
        pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
        patternHint: 'a DNS name like cluster.local',
        description: 'trust domain of every identity: SPIFFE IDs `spiffe://<td>/ns/<ns>/sa/<sa>`, principals `<sa>.<ns>.<td>`, node ids',
      }),
      'cluster.local',
    ),
  }),
  plugins: s.object({
    sources: s.default(s.array(pluginEntry, { description: 'where mesh objects come from (`file`, third-party sources)' }), []),
    proxies: s.default(s.array(pluginEntry, { description: 'proxy backends by node kind (`envoy` serves `sidecar`, `grpc` serves `grpc`)' }), []),
    // One entry; a list is accepted so that "two providers" gets a clear error instead of a type error.
    certificates: s.optional(s.unknown({ description: 'the certificate provider, one plugin entry `{ use, config }` (`selfsigned` or `vault`); exactly one is required' })),
    observability: s.default(s.array(pluginEntry, { description: 'exporters' }), []),
  }),
  xds: s.section({
    address: s.default(hostPort('the ADS listener; mTLS, identity from the client certificate'), '0.0.0.0:15128'),
    plaintextAddress: s.optional(
      hostPort(
        'optional plaintext ADS listener for proxyless gRPC on the same host (grpc-js-xds cannot use TLS to a control plane); never serves secrets; bind it to loopback (anything else is warned about)',
      ),
    ),
    debounce: s.section({
      // Per snapshot key (core/src/controller/rebuild-queue.ts): churn on other identities does not hold a key.
      quiet: s.default(s.duration({ description: "a proxy family's rebuild waits until its identity has had no new change for this long" }), 50),
      max: s.default(s.duration({ description: "... but never longer than this after the identity's first pending change (so a stream of changes to it cannot starve its pushes)" }), 250),
    }),
    maxStreams: s.default(s.number({ integer: true, min: 1, description: 'open ADS streams at most; more are refused with RESOURCE_EXHAUSTED' }), 20_000),
    connectionsPerSecond: s.default(s.number({ min: 1, description: 'new mTLS connections per second handed to the TLS handshake (more wait in the accept queue) and new streams per second (more are refused); token buckets' }), 1000),
    pushConcurrency: s.default(s.number({ integer: true, min: 1, description: 'streams pushed to at once' }), 64),
    listenBacklog: s.default(
      s.number({ integer: true, min: 1, description: "kernel accept queue of each ADS listener (capped by net.core.somaxconn); grpc-js alone would use Node's 511, which a connect storm overflows" }),
      4096,
    ),
    plaintextIssuance: s.section({
      rate: s.default(s.number({ min: 0.001, description: 'new workload certificates per second one plaintext source host may cause' }), 1),
      burst: s.default(s.number({ integer: true, min: 1, description: 'new workload certificates one plaintext source host may cause at once' }), 20),
    }),
    rebuildConcurrency: s.default(s.number({ integer: true, min: 1, description: 'snapshots rebuilt at once (independent identities do not wait for each other)' }), 4),
    maxSubscriptionsPerStream: s.default(s.number({ integer: true, min: 1, description: 'resource names one ADS stream may subscribe to; more end the stream with RESOURCE_EXHAUSTED' }), 100_000),
    logLinesPerSecond: s.default(s.number({ min: 0.01, description: 'client-triggered xDS warnings logged per second, per kind (the rest are counted)' }), 10),
    denyResponder: s.section({
      enabled: s.default(
        s.boolean({ description: 'answer a proxyless call that policy denies at once with PERMISSION_DENIED and the reason (docs/gamma.md, "Denied proxyless calls"); off: such a call waits out its deadline' }),
        true,
      ),
      address: s.default(hostPort('the deny responder (gRPC over mTLS or cleartext HTTP/2, any method); port 0 picks a free one. Proxyless clients on other hosts need a reachable address'), '127.0.0.1:0'),
      advertiseAddress: s.optional(
        s.string({
          pattern: /^(\[[0-9a-fA-F:.]+\]|[0-9.]+):\d{1,5}$/,
          patternHint: 'ip:port, e.g. 10.0.0.5:15130',
          description: 'the `ip:port` proxyless clients are sent for the responder (an xDS endpoint is an IP); default the listen address (127.0.0.1 when it listens on every address); port 0: the bound port',
        }),
      ),
      rate: s.default(s.number({ min: 0.01, description: 'denied-call reasons (policy explain evaluations) computed per second; past it calls are still denied, with a fixed message' }), 100),
      burst: s.default(s.number({ integer: true, min: 1, description: 'denied-call reasons computed at once' }), 200),
      maxConnections: s.default(s.number({ integer: true, min: 1, description: 'open connections to the deny responder at most; more are closed' }), 1024),
    }),
    maxBufferedBytesPerStream: s.default(
      s.number({ integer: true, min: 1024, description: 'bytes a stream may have buffered before its pushes wait (a slow proxy never holds a shared push slot)' }),
      1024 * 1024,
    ),
  }),
  admin: s.section({
    address: s.default(hostPort('admin/debug HTTP API (`/livez`, `/readyz`, `/metrics`, `/debug/*`); must not share a port with the xDS listeners'), '127.0.0.1:9091'),
  }),
  certificates: s.section({
    validity: s.default(
      s.duration({ minMs: 1000, description: 'workload certificate validity (a MeshConfig `spec.certificate.serviceCertValidityDuration` overrides it)' }),
      24 * 3600_000,
    ),
    renewBefore: s.default(s.number({ min: 0.01, max: 0.9, description: 'renew when this fraction of the validity is left' }), 0.2),
    jitter: s.default(s.number({ min: 0, max: 0.5, description: 'random extra fraction of validity, so renewals spread out' }), 0.05),
    keyType: s.default(s.literal(KEY_TYPES, { description: 'workload key type' }), 'ecdsa-p256'),
    evictUnusedAfter: s.default(s.duration({ description: 'cached certificates of identities with no connected proxy are dropped after this long' }), 300_000),
  }),
  identity: s.section({
    address: s.optional(
      hostPort('the identity service (HTTPS): workloads send a CSR with a join token, a ServiceAccount token or their current certificate; off when unset'),
    ),
    tokenDir: s.default(s.string({ minLength: 1, description: 'join-token store of the controller (token hashes only, mode 0700), relative to the config file' }), './identity-tokens'),
    serviceAccountAudience: s.optional(
      s.string({ minLength: 1, description: 'Kubernetes: accept projected ServiceAccount tokens bound to this audience, checked with a TokenReview' }),
    ),
  }),
  injector: s.section({
    address: s.optional(hostPort('the sidecar-injector admission webhook (HTTPS, `/mutate-pod-creation`); off when unset')),
    serviceName: s.default(s.string({ minLength: 1, description: "DNS name the API server calls the webhook by (on its serving certificate)" }), 'trellis-injector.trellis-system.svc'),
    envoyImage: s.default(s.string({ minLength: 1, description: 'image of the injected Envoy sidecar' }), 'envoyproxy/envoy:v1.30.2'),
    trellisImage: s.default(s.string({ minLength: 1, description: 'image of the injected init container (iptables) and certificate agent (the `trellis` CLI)' }), 'ghcr.io/trellis-mesh/trellis:0.1.0'),
    xdsAddress: s.default(s.string({ minLength: 1, description: 'ADS (mTLS) as injected pods reach it' }), 'trellis.trellis-system.svc:15128'),
    grpcXdsAddress: s.optional(s.string({ minLength: 1, description: 'plaintext ADS proxyless gRPC pods dial (needed for `trellis.io/proxy: grpc`)' })),
    identityAddress: s.default(s.string({ minLength: 1, description: 'the identity service as injected pods reach it' }), 'trellis.trellis-system.svc:15130'),
  }),
  log: s.section({ level: s.default(s.literal(['debug', 'info', 'warn', 'error', 'silent'] as const, { description: 'JSON log lines on stderr' }), 'info') }),
  shutdown: s.section({ grace: s.default(s.duration({ description: 'total time plugins get to stop on SIGINT/SIGTERM' }), 10_000) }),
});

export type RawConfig = Infer<typeof configSchema>;
