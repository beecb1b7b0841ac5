import type { CertificatesPlugin } from '../kinds/certificates.ts';
import type { Lifecycle } from '../kinds/lifecycle.ts';
import type { AnyPluginDefinition, PluginKind } from '../plugin.ts';
import { formatPath } from '../schema.ts';
import { coreServices, type MeshSettings, type ServiceRef } from '../services.ts';
import type { XdsResource, XdsResourceFactory } from '../xds/resources.ts';
import { MemoryBus, MemoryLogger, MemoryMetrics, RecordingSink } from './fakes.ts';
import { recordRegistrations, type RecordedRegistrations } from './registrations.ts';

export interface ConformanceOptions {
  /** The raw `config` block, decoded with the plugin's schema like the core does. */
  readonly config?: unknown;
  readonly baseDir?: string;
  readonly mesh?: MeshSettings;
  /** How long to wait for readiness after start (default 10 s). */
  readonly readyTimeoutMs?: number;
  /** Replaces the recording sink (sources) or the resource factory (proxies). */
  readonly sink?: RecordingSink;
  readonly resources?: XdsResourceFactory;
  /** Extra services by ref id, for plugins with non-core dependencies. */
  readonly services?: Readonly<Record<string, unknown>>;
}

export interface ConformanceReport {
  readonly plugin: string;
  readonly kind: PluginKind;
  readonly steps: readonly string[];
  readonly instance: Lifecycle;
  readonly logger: MemoryLogger;
  readonly sink: RecordingSink;
  /** The services it provided and the extension points it contributed to in `create`. */
  readonly registrations: RecordedRegistrations;
}

class ConformanceError extends Error {
  override name = 'ConformanceError';
}

const jsonFactory: XdsResourceFactory = {
  create(typeUrl, name, value, options): XdsResource {
    const body = new TextEncoder().encode(JSON.stringify(value));
    return { typeUrl, name, version: String(body.length), body, value: value as Record<string, unknown>, ...(options?.audience ? { audience: options.audience } : {}) };
  },
};

/**
 * The lifecycle contract every plugin must pass: its config decodes, `create` succeeds, `start` succeeds,
 * it becomes ready, `stop` succeeds, and a second `stop` is harmless. Throws a `ConformanceError` naming
 * the failed step. Kind-specific checks run while the plugin is ready (a certificates plugin must issue).
 */
export async function runPluginConformance(def: AnyPluginDefinition, opts: ConformanceOptions = {}): Promise<ConformanceReport> {
  const steps: string[] = [];
  const fail = (step: string, why: unknown): never => {
    throw new ConformanceError(`${def.name} (${def.kind}): ${step} failed: ${why instanceof Error ? why.message : String(why)}`);
  };
  const logger = new MemoryLogger();
  const sink = opts.sink ?? new RecordingSink();
  let config: unknown = opts.config;
  if (def.configSchema) {
    const r = def.configSchema.parse(opts.config, [], { baseDir: opts.baseDir ?? process.cwd() });
    if (!r.ok) fail('config', r.issues.map((i) => `${formatPath(i.path)}: ${i.message}`).join('; '));
    else config = r.value;
  }
  if (def.validateConfig) {
    const errors = (await def.validateConfig(config, { baseDir: opts.baseDir ?? process.cwd() })).filter((i) => i.severity !== 'warning');
    if (errors.length) fail('config', errors.map((i) => `${formatPath(i.path)}: ${i.message}`).join('; '));
  }
  steps.push('config');
  const services: Record<string, unknown> = {
    [coreServices.logger.id]: logger,
    [coreServices.bus.id]: new MemoryBus(),
    [coreServices.metrics.id]: new MemoryMetrics(),
    [coreServices.mesh.id]: opts.mesh ?? { name: 'test', trustDomain: 'cluster.local' },
    ...opts.services,
  };
  const deps: Record<string, unknown> = {};
  for (const [k, ref] of Object.entries((def.deps ?? {}) as Record<string, ServiceRef<unknown>>)) {
    if (!(ref.id in services)) fail('create', `dependency "${ref.id}" is not available in the test kit; pass it in options.services`);
    deps[k] = services[ref.id];
  }
  const registrations = recordRegistrations(def);
  let instance: Lifecycle | undefined;
  try {
    instance = (await def.create({
      ...registrations,
      config,
      deps,
      logger: logger.child({ plugin: def.name }),
      mesh: opts.mesh ?? { name: 'test', trustDomain: 'cluster.local' },
      baseDir: opts.baseDir ?? process.cwd(),
      sink,
      resources: opts.resources ?? jsonFactory,
      createState: true, // as the controller does: a plugin under test starts from empty state
    }));
  } catch (err) {
    fail('create', err);
  }
  if (!instance || typeof instance !== 'object') return fail('create', 'create() returned no instance');
  const unprovided = (def.provides ?? []).filter((r) => !registrations.provided.has(r.id));
  if (unprovided.length) fail('create', `declares it provides ${unprovided.map((r) => `"${r.id}"`).join(', ')} but did not provide it`);
  if (def.kind === 'proxy' && (instance as { nodeKind?: unknown }).nodeKind !== def.nodeKind)
    fail('create', `declares nodeKind "${String(def.nodeKind)}" but its instance serves "${String((instance as { nodeKind?: unknown }).nodeKind)}"`);
  steps.push('create');
  try {
    await instance.start?.();
  } catch (err) {
    fail('start', err);
  }
  steps.push('start');
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 10_000);
  for (;;) {
    const r = instance.readiness?.() ?? { ready: true };
    if (r.ready) break;
    if (Date.now() > deadline) fail('ready', r.reason ?? 'not ready before the timeout');
    await new Promise((res) => setTimeout(res, 20));
  }
  steps.push('ready');
  if (def.kind === 'certificates') {
    const certs = instance as CertificatesPlugin;
    try {
      const bundle = await certs.trustBundle();
      if (!bundle.roots.length) fail('trustBundle', 'no roots');
      const c = await certs.issue({ commonName: 'conformance.test.cluster.local', dnsNames: ['conformance.test.cluster.local'], uris: [], validityMs: 3600_000, keyType: 'ecdsa-p256' });
      if (!c.certificatePem.includes('BEGIN CERTIFICATE')) fail('issue', 'certificatePem is not PEM');
      if (JSON.stringify(c).includes('PRIVATE KEY')) fail('issue', 'the private key leaks through JSON serialisation');
    } catch (err) {
      if (err instanceof ConformanceError) throw err;
      fail('issue', err);
    }
    steps.push('issue');
  }
  if (def.kind === 'proxy') {
    const p = instance as { nodeKind?: unknown; generate?: unknown };
    if (typeof p.nodeKind !== 'string' || typeof p.generate !== 'function') fail('contract', 'a proxy plugin needs nodeKind and generate()');
    steps.push('contract');
  }
  try {
    await instance.stop?.();
  } catch (err) {
    fail('stop', err);
  }
  steps.push('stop');
  try {
    await instance.stop?.();
  } catch (err) {
    fail('stop again', err);
  }
  steps.push('stop again');
  return { plugin: def.name, kind: def.kind, steps, instance, logger, sink, registrations };
}
