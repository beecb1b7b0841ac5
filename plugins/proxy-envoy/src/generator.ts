import { createHash } from 'node:crypto';
import { ByteLru, SecretNames, TypeUrls, identityKey, xdsResourceBytes } from '@trellis/plugin-sdk';
import type { CreateOptions, GenerateContext, IssuedCertificate, OutboundService, ProxyView, ResourceTypes, TypeUrl, XdsResource, XdsResourceFactory } from '@trellis/plugin-sdk';
import { egressClusters, egressRouteConfigs } from './internal/egress.ts';
import { ingressRouteConfig, rdsIngressName } from './internal/ingress.ts';
import { localCluster, metricsCluster, outboundCluster, outboundEndpoints, passthroughCluster } from './internal/clusters.ts';
import { byString } from './internal/common.ts';
import { inboundListener, outboundListener, prometheusListener } from './internal/listeners.ts';
import { inboundRouteConfig, outboundRouteConfig } from './internal/routes.ts';
import { rootCertInboundSecret, rootCertOutboundSecret, serviceCertSecret } from './internal/secrets.ts';
import { gammaRouteConfig } from './internal/gamma-routes.ts';
import { ACCESS_LOG_CLUSTER, accessLogCluster, TRACING_CLUSTER, tracingCluster, withTelemetry } from './internal/telemetry.ts';
import { isHttp, rdsGammaName, rootCertOutboundName } from './names.ts';

export interface EnvoyGeneratorOptions {
  /** Serve `inbound-prometheus-listener` (15010) and `envoy-metrics-cluster`. Default true. */
  readonly metrics?: boolean;
  /** How many shared resources to keep for reuse (least recently used go first). Default 20000. */
  readonly sharedCapacity?: number;
  /** Upper bound of the shared resources' estimated memory (`xdsResourceBytes`). Default 256 MiB. */
  readonly sharedBytes?: number;
}

export interface EnvoyGenerator {
  generate(view: ProxyView, ctx: GenerateContext): XdsResource[];
  /** Shared-resource memo: entries held, and reuse counts since creation. */
  stats(): { size: number; capacity: number; bytes: number; hits: number; misses: number };
}

/**
 * Turns one proxy's view into its Envoy resources (OSM's shapes and names). Every resource is looked up by a
 * content key first: equal inputs give the very same XdsResource object (encoded once). A service's endpoints
 * outbound root certificate and cluster (which names the identity-free `service-cert` every proxy resolves to
 * its own) are shared by every proxy that reaches it, whatever its identity.
 */
export function createEnvoyGenerator(options: EnvoyGeneratorOptions = {}): EnvoyGenerator {
  const metrics = options.metrics ?? true;
  const capacity = options.sharedCapacity ?? 20_000;
  const memo = new ByteLru<XdsResource>({ maxEntries: capacity, maxBytes: options.sharedBytes ?? 256 * 1024 * 1024, sizeOf: xdsResourceBytes });
  // The catalog hands every proxy of one identity the same (cached) view object: answer those in O(1).
  const lastByView = new WeakMap<ProxyView, { factory: XdsResourceFactory; certificate: GenerateContext['certificate']; out: XdsResource[] }>();

  return {
    stats: () => ({ size: memo.size, capacity, bytes: memo.bytes, hits: memo.hits, misses: memo.misses }),
    generate(view, ctx) {
      const last = lastByView.get(view);
      if (last && last.factory === ctx.resources && last.certificate === ctx.certificate) return [...last.out];
      const out = build(view, ctx);
      lastByView.set(view, { factory: ctx.resources, certificate: ctx.certificate, out });
      return [...out];
    },
  };

  function build(view: ProxyView, ctx: GenerateContext): XdsResource[] {
    const f = ctx.resources;
    const out: XdsResource[] = [];
    const names = new Set<string>();
    const push = (r: XdsResource): void => {
      const id = `${r.typeUrl}|${r.name}`;
      if (names.has(id)) return;
      names.add(id);
      out.push(r);
    };
    const add = <U extends TypeUrl>(typeUrl: U, name: string, key: string, build: () => ResourceTypes[U], options?: CreateOptions): void => {
      if (!names.has(`${typeUrl}|${name}`)) push(shared(memo, f, typeUrl, name, key, build, options));
    };
    const client = { namespace: view.identity.namespace, serviceAccount: view.identity.serviceAccount };
    const outbound = uniqueBy(view.outbound, (s) => s.clusterName).sort((a, b) => byString(a.clusterName, b.clusterName));
    // Listener chains and routes are per service port (two ports may share a cluster, e.g. 80 and 8080 -> 8080).
    const outboundPorts = uniqueBy(view.outbound, (s) => `${s.clusterName}|${s.service.port}`).sort((a, b) => byString(a.clusterName, b.clusterName) || a.service.port - b.service.port);
    const inbound = uniqueBy(view.inbound, (p) => `${p.localClusterName}|${p.service.port}`);

    // LDS (with the MeshConfig's tracing and access log, when it asks for them)
    const tel = view.telemetry;
    // The tracer names the proxy's service, so a traced outbound listener is one identity's, not shared.
    const telKey = tel ? `${JSON.stringify(tel)}|${identityKey(client)}\n` : '';
    const serviceName = `${client.serviceAccount}.${client.namespace}`;
    const egressRules = view.egressRules ?? [];
    const outKey = `${telKey}${view.egress}\n${outboundPorts.map(outboundChainKey).join('\n')}${egressRules.length ? `\n${JSON.stringify(egressRules)}` : ''}`;
    const outL = cachedBuild(memo, f, TypeUrls.listener, 'outbound', outKey, () => withTelemetry(outboundListener(outboundPorts, view.egress, egressRules), tel, serviceName));
    if (outL) push(outL);
    const inInput = { identity: client, trustDomain: view.trustDomain, permissive: view.permissive, inbound };
    const inL = cachedBuild(memo, f, TypeUrls.listener, 'inbound', telKey + JSON.stringify(inInput), () => withTelemetry(inboundListener(inInput), tel, serviceName));
    if (inL) push(inL);
    if (metrics) add(TypeUrls.listener, 'inbound-prometheus-listener', 'const', prometheusListener);

    // RDS
    for (const [port, services] of groupBy(outboundPorts.filter((s) => isHttp(s.service)), (s) => s.service.port)) {
      add(TypeUrls.route, `rds-outbound.${port}`, services.map(outboundRouteKey).join('\n'), () => outboundRouteConfig(port, services));
    }
    for (const svc of outboundPorts) if (svc.gamma && isHttp(svc.service)) add(TypeUrls.route, rdsGammaName(svc.service), JSON.stringify([svc.gamma, svc.timeoutMs, svc.retry]), () => gammaRouteConfig(svc));
    for (const [targetPort, ports] of groupBy(inbound.filter((p) => isHttp(p.service)), (p) => p.service.targetPort)) {
      add(TypeUrls.route, `rds-inbound.${targetPort}`, JSON.stringify([view.trustDomain, view.permissive, ports]), () =>
        inboundRouteConfig(targetPort, ports, view.trustDomain, view.permissive),
      );
    }

    for (const port of inbound) {
      if (!port.ingress || !isHttp(port.service)) continue;
      const tp = port.service.targetPort;
      add(TypeUrls.route, rdsIngressName(tp), JSON.stringify([port.localClusterName, port.service, port.ingress]), () => ingressRouteConfig(tp, port));
    }

    for (const rc of egressRouteConfigs(egressRules)) add(TypeUrls.route, rc.name ?? '', JSON.stringify(rc), () => rc);

    // CDS + EDS
    for (const svc of outbound) {
      // Identity-free (the TLS context names SDS secrets each proxy resolves to its own): one encode for the mesh.
      add(TypeUrls.cluster, svc.clusterName, `${serviceKey(svc)}|${json(svc.upstream)}`, () => outboundCluster(svc));
      add(TypeUrls.endpoint, svc.clusterName, endpointsKey(svc), () => outboundEndpoints(svc));
    }
    for (const port of [...inbound].sort((a, b) => byString(a.localClusterName, b.localClusterName))) {
      if (port.service.protocol === 'udp') continue;
      add(TypeUrls.cluster, port.localClusterName, `${port.service.targetPort}|${port.service.protocol}`, () => localCluster(port));
    }
    for (const c of egressClusters(egressRules)) add(TypeUrls.cluster, c.name ?? '', JSON.stringify(c), () => c);
    if (view.egress) add(TypeUrls.cluster, 'passthrough-outbound', 'const', passthroughCluster);
    if (metrics) add(TypeUrls.cluster, 'envoy-metrics-cluster', 'const', metricsCluster);
    const tracing = tel?.tracing;
    if (tracing) add(TypeUrls.cluster, TRACING_CLUSTER, JSON.stringify(tracing), () => tracingCluster(tracing));
    const otelLog = tel?.accessLog?.format === 'otel' ? tel.accessLog : undefined;
    if (otelLog) add(TypeUrls.cluster, ACCESS_LOG_CLUSTER, JSON.stringify(otelLog), () => accessLogCluster(otelLog));

    // SDS
    const cert = ctx.certificate;
    if (cert) {
      const pem = pemKeys(cert);
      // The only secret with a private key: for this identity's proxies alone.
      add(TypeUrls.secret, SecretNames.ownCert, `${cert.serialNumber}|${pem.chain}`, () => serviceCertSecret(cert), { audience: client });
      add(TypeUrls.secret, SecretNames.ownRoots, pem.bundle, () => rootCertInboundSecret(cert.trustBundlePem));
      for (const [, services] of groupBy(outbound, (s) => `${s.service.namespace}/${s.service.name}`)) {
        const first = services[0];
        if (!first) continue;
        const ids = uniqueBy(services.flatMap((s) => s.identities), identityKey).sort((a, b) => byString(identityKey(a), identityKey(b)));
        add(TypeUrls.secret, rootCertOutboundName(first.service), `${ids.map(identityKey).join(',')}|${view.trustDomain}|${pem.bundle}`, () =>
          rootCertOutboundSecret(first.service, ids, view.trustDomain, cert.trustBundlePem),
        );
      }
    }
    return out.sort((a, b) => typeOrder(a.typeUrl) - typeOrder(b.typeUrl) || byString(a.name, b.name));
  }
}

type KeyKind = 'svc' | 'ips';
const keyCaches: Record<KeyKind, WeakMap<object, string>> = { svc: new WeakMap(), ips: new WeakMap() };

/**
 * JSON of `pick(obj)`, computed once per (object, kind). Only for objects views share (a service port, its
 * endpoint list): an identity's view is recomputed on every change and holds one OutboundService per reachable
 * service, so keys cached per OutboundService would be recomputed, and kept, per identity x service.
 */
function cachedKey<T extends object>(obj: T, kind: KeyKind, pick: (o: T) => unknown): string {
  const cache = keyCaches[kind];
  let k = cache.get(obj);
  if (k === undefined) cache.set(obj, (k = JSON.stringify(pick(obj))));
  return k;
}

const serviceKey = (s: OutboundService): string => cachedKey(s.service, 'svc', (x) => x);
const endpointsKey = (s: OutboundService): string => cachedKey(s.endpoints, 'svc', (x) => x);
const endpointIpsKey = (s: OutboundService): string => cachedKey(s.endpoints, 'ips', (x) => x.map((e) => e.ip));
const json = (v: unknown): string => (v === undefined ? '' : JSON.stringify(v));

/** What an outbound chain depends on: service, cluster, endpoint addresses, split backends. */
function outboundChainKey(s: OutboundService): string {
  return `${s.clusterName}|${serviceKey(s)}|${s.serviceIPs?.join(',') ?? ''}|${endpointIpsKey(s)}|${s.split ? json(s.split.backends.map((b) => [b.clusterName, b.weight])) : ''}|${s.gamma !== undefined}`;
}

function outboundRouteKey(s: OutboundService): string {
  return `${s.clusterName}|${serviceKey(s)}|${s.hostnames.join(',')}|${json(s.split)}|${json(s.retry)}|${s.timeoutMs ?? ''}`;
}

/** The memo key: short inputs as they are, long ones (a route config's services) as a SHA-256, to bound memory. */
function memoKey(typeUrl: string, name: string, key: string): string {
  return `${typeUrl}|${name}|${key.length > 256 ? createHash('sha256').update(key).digest('base64url') : key}`;
}

const pemKeyCache = new WeakMap<IssuedCertificate, { chain: string; bundle: string }>();

/** Short stand-ins for a certificate's PEMs in memo keys (hashed once per certificate object). */
function pemKeys(cert: IssuedCertificate): { chain: string; bundle: string } {
  let k = pemKeyCache.get(cert);
  if (!k) {
    const h = (t: string) => createHash('sha256').update(t).digest('base64url');
    pemKeyCache.set(cert, (k = { chain: h(cert.chainPem), bundle: h(cert.trustBundlePem) }));
  }
  return k;
}

function shared<U extends TypeUrl>(
  memo: ByteLru<XdsResource>,
  f: XdsResourceFactory,
  typeUrl: U,
  name: string,
  key: string,
  build: () => ResourceTypes[U],
  options?: CreateOptions,
): XdsResource {
  return memo.getOrCreate(memoKey(typeUrl, name, key), () => f.create(typeUrl, name, build(), options));
}

/** For resources that may not exist (a listener without chains): the built object, or undefined. */
function cachedBuild<U extends TypeUrl>(
  memo: ByteLru<XdsResource>,
  f: XdsResourceFactory,
  typeUrl: U,
  slot: string,
  key: string,
  build: () => (ResourceTypes[U] & { name?: string }) | undefined,
): XdsResource | undefined {
  const k = memoKey(typeUrl, `?${slot}`, key);
  let missing = false;
  const r = memo.getOrCreate(k, () => {
    const obj = build();
    if (!obj) {
      missing = true;
      return NONE;
    }
    return f.create(typeUrl, typeof obj.name === 'string' ? obj.name : slot, obj);
  });
  return missing || r === NONE ? undefined : r;
}

const NONE: XdsResource = Object.freeze({ typeUrl: '', name: '', version: '', body: new Uint8Array(0), value: {} });

function uniqueBy<T>(items: readonly T[], key: (t: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((t) => {
    const k = key(t);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function groupBy<T, K extends string | number>(items: readonly T[], key: (t: T) => K): [K, T[]][] {
  const m = new Map<K, T[]>();
  for (const t of items) {
    const k = key(t);
    const list = m.get(k);
    if (list) list.push(t);
    else m.set(k, [t]);
  }
  return [...m].sort(([a], [b]) => (typeof a === 'number' && typeof b === 'number' ? a - b : byString(String(a), String(b))));
}

const TYPE_ORDER: readonly string[] = [TypeUrls.listener, TypeUrls.route, TypeUrls.cluster, TypeUrls.endpoint, TypeUrls.secret];
const typeOrder = (typeUrl: string): number => TYPE_ORDER.indexOf(typeUrl);
