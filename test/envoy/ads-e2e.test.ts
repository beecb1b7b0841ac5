import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controllerRef, xds } from '@trellis/core';
import { formatNodeId, TypeUrls, type NodeIdentity } from '@trellis/plugin-sdk';
import { objects as o, startTestMesh, type TestMesh } from '@trellis/plugin-sdk/testing';
import selfsigned from '@trellis/plugin-certs-selfsigned';
import envoy from '@trellis/plugin-proxy-envoy';
import { AdsConnection, type SotwClient } from '../support/ads-client.ts';
import { validateEnvoyResource } from '@trellis/core';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const http = [{ kind: 'HTTPRouteGroup', name: 'all' }];

/** Decodes one resource to proto-JSON-like form (Any expanded with `@type`) for the strict validator. */
function decode(typeUrl: string, body: Uint8Array | undefined): Obj {
  const type = xds.messageType(typeUrl);
  return type.toObject(type.decode(body ?? new Uint8Array(0)), { json: true, enums: String, longs: Number, bytes: String });
}

function collectNames(v: unknown, key: string, out = new Set<string>()): Set<string> {
  if (Array.isArray(v)) for (const x of v) collectNames(x, key, out);
  else if (isObj(v))
    for (const [k, x] of Object.entries(v)) {
      if (k === key && isObj(x) && typeof x.name === 'string') out.add(x.name);
      if (k === key && Array.isArray(x)) for (const y of x) if (isObj(y) && typeof y.name === 'string') out.add(y.name);
      collectNames(x, key, out);
    }
  return out;
}

describe('e2e: an Envoy sidecar (raw ADS client over mTLS) against the running controller', () => {
  let mesh: TestMesh;
  let conn: AdsConnection | undefined;

  beforeAll(async () => {
    mesh = await startTestMesh({
      plugins: [{ definition: selfsigned, config: { stateDir: mkdtempSync(join(tmpdir(), 'trellis-envoy-ca-')) } }, { definition: envoy }],
      settings: { xds: { address: '127.0.0.1:0', debounce: { quiet: '10ms', max: '100ms' } } },
      objects: [
        o.ns('shop'),
        ...o.workload('shop', 'buyer', '10.0.0.1'),
        ...o.workload('shop', 'store', '10.0.0.2', 80, 8080),
        o.routeGroup('shop', 'all', [{ name: 'any', pathRegex: '.*' }]),
        o.target('shop', 'buyer-to-store', 'store', ['buyer'], http),
      ],
    });
  });
  afterAll(async () => {
    conn?.close();
    await mesh?.stop();
  });

  const node = (sa: string): NodeIdentity => ({ uuid: randomUUID(), kind: 'sidecar', namespace: 'shop', serviceAccount: sa, trustDomain: 'cluster.local' });

  async function connect(n: NodeIdentity): Promise<SotwClient> {
    const handle = mesh.resolve(controllerRef);
    const cert = await handle.certificates().bootstrap(n);
    conn?.close();
    conn = new AdsConnection({
      address: `127.0.0.1:${handle.ports().port}`,
      tls: { caPem: cert.trustBundlePem, certPem: cert.chainPem, keyPem: cert.privateKey.reveal() },
    });
    return conn.sotw();
  }

  async function fetch(stream: SotwClient, typeUrl: string, names: string[] = []) {
    stream.send({ type_url: typeUrl, resource_names: names });
    const r = await stream.next(5000);
    expect(r.type_url).toBe(typeUrl);
    stream.send({ type_url: typeUrl, resource_names: names, version_info: r.version_info, response_nonce: r.nonce });
    return (r.resources ?? []).map((a) => decode(typeUrl, a.value));
  }

  it('serves every type; every resource is strictly valid; references resolve', async () => {
    const buyer = node('buyer');
    const stream = await connect(buyer);
    stream.send({ node: { id: formatNodeId(buyer) }, type_url: TypeUrls.cluster });
    const first = await stream.next(5000);
    const clusters = (first.resources ?? []).map((a) => decode(TypeUrls.cluster, a.value));
    stream.send({ type_url: TypeUrls.cluster, version_info: first.version_info, response_nonce: first.nonce });
    // Egress is on by default: the passthrough cluster is there too.
    expect(clusters.map((c) => c.name)).toEqual(['envoy-metrics-cluster', 'passthrough-outbound', 'shop/buyer|8080|local', 'shop/store|8080']);

    const eds = clusters.filter((c) => c.type === 'EDS').map((c) => String(c.name));
    const endpoints = await fetch(stream, TypeUrls.endpoint, eds);
    expect(endpoints.map((e) => e.cluster_name)).toEqual(['shop/store|8080']);
    const listeners = await fetch(stream, TypeUrls.listener);
    expect(listeners.map((l) => l.name).sort()).toEqual(['inbound-listener', 'inbound-prometheus-listener', 'outbound-listener']);
    const rdsNames = [...new Set(listeners.flatMap((l) => xds.rdsNamesOf(l)))].sort();
    expect(rdsNames).toEqual(['rds-inbound.8080', 'rds-outbound.80']);
    const routes = await fetch(stream, TypeUrls.route, rdsNames);
    const sdsNames = [...collectNames([...clusters, ...listeners], 'tls_certificate_sds_secret_configs'), ...collectNames([...clusters, ...listeners], 'validation_context_sds_secret_config')].sort();
    // The own certificate and inbound roots have identity-free names: every proxy resolves them to its own.
    expect(sdsNames).toEqual(['root-cert-for-mtls-inbound', 'root-cert-for-mtls-outbound:shop/store', 'service-cert']);
    const own = ['root-cert-for-mtls-inbound', 'service-cert'];
    const secrets = await fetch(stream, TypeUrls.secret, own);
    expect(secrets.map((s) => s.name).sort()).toEqual(own);

    const all: [string, Obj[]][] = [
      [TypeUrls.cluster, clusters],
      [TypeUrls.endpoint, endpoints],
      [TypeUrls.listener, listeners],
      [TypeUrls.route, routes],
      [TypeUrls.secret, secrets],
    ];
    for (const [typeUrl, list] of all) for (const r of list) expect([String(r.name ?? r.cluster_name), validateEnvoyResource(typeUrl, r)]).toEqual([String(r.name ?? r.cluster_name), []]);
    stream.cancel();
  });

  it("lets the caller in by the URI SAN of its certificate: the server's RBAC names the SPIFFE ID", async () => {
    const buyer = node('buyer');
    const asBuyer = await connect(buyer);
    asBuyer.send({ node: { id: formatNodeId(buyer) }, type_url: TypeUrls.secret, resource_names: ['service-cert'] });
    const own = (await asBuyer.next(5000)).resources?.map((a) => decode(TypeUrls.secret, a.value))[0] as { tls_certificate: { certificate_chain: { inline_string: string } } };
    asBuyer.cancel();
    const sans = new X509Certificate(own.tls_certificate.certificate_chain.inline_string).subjectAltName ?? '';
    const uri = /URI:(spiffe:\/\/[^,\s]+)/.exec(sans)?.[1];
    expect(uri).toBe('spiffe://cluster.local/ns/shop/sa/buyer');

    const store = node('store');
    const stream = await connect(store);
    stream.send({ node: { id: formatNodeId(store) }, type_url: TypeUrls.listener });
    const r = await stream.next(5000);
    stream.cancel();
    const inbound = (r.resources ?? []).map((a) => decode(TypeUrls.listener, a.value)).find((l) => l.name === 'inbound-listener');
    const text = JSON.stringify(inbound);
    expect(text).toContain('"envoy.filters.network.rbac"');
    expect(text).toContain(`"principal_name":{"exact":"${uri ?? ''}"}`);
  });

  // Public trust material (no audience) from the proxy's own snapshot: served whatever its name.
  it('serves the outbound root certificate of an upstream service', async () => {
    const buyer = node('buyer');
    const stream = await connect(buyer);
    stream.send({ node: { id: formatNodeId(buyer) }, type_url: TypeUrls.secret, resource_names: ['root-cert-for-mtls-outbound:shop/store'] });
    const r = await stream.next(5000);
    stream.cancel();
    const secrets = (r.resources ?? []).map((a) => decode(TypeUrls.secret, a.value));
    expect(secrets.map((x) => x.name)).toEqual(['root-cert-for-mtls-outbound:shop/store']);
    expect(validateEnvoyResource(TypeUrls.secret, secrets[0] ?? {})).toEqual([]);
  });

  it("gives nothing when asked for another identity's service-cert", async () => {
    const buyer = node('buyer');
    const stream = await connect(buyer);
    stream.send({ node: { id: formatNodeId(buyer) }, type_url: TypeUrls.secret, resource_names: ['service-cert:shop/store'] });
    const r = await stream.next(5000);
    // The decoder leaves an empty repeated field out.
    expect(r.resources ?? []).toEqual([]);
    stream.cancel();
  });

  // One shared name, one identity each: `service-cert` resolves to the asking proxy's own certificate.
  it('resolves the shared name service-cert to each proxy its own certificate', async () => {
    const sanOf = async (who: string): Promise<string | undefined> => {
      const n = node(who);
      const stream = await connect(n);
      stream.send({ node: { id: formatNodeId(n) }, type_url: TypeUrls.secret, resource_names: ['service-cert'] });
      const sds = await stream.next(5000);
      stream.cancel();
      const own = (sds.resources ?? []).map((a) => decode(TypeUrls.secret, a.value))[0] as { tls_certificate: { certificate_chain: { inline_string: string } } };
      const sans = new X509Certificate(own.tls_certificate.certificate_chain.inline_string).subjectAltName ?? '';
      return /URI:(spiffe:\/\/[^,\s]+)/.exec(sans)?.[1];
    };
    expect(await sanOf('buyer')).toBe('spiffe://cluster.local/ns/shop/sa/buyer');
    expect(await sanOf('store')).toBe('spiffe://cluster.local/ns/shop/sa/store');
  });
});
