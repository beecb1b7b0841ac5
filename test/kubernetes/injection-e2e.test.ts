import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controllerRef, defaultParts, loadConfig, silentLogger, startMesh, validateBootstrap, validateEnvoyResource, xds, type Mesh } from '@trellis/core';
import { parseNodeId, TypeUrls } from '@trellis/plugin-sdk';
import { AdsConnection } from '../support/ads-client.ts';
import { FakeApiServer, kubectl } from '../support/fake-apiserver/index.ts';
import { eventually } from '../support/grpc-workloads.ts';
import { runTrellis } from '../support/cli.ts';

/**
 * Sidecar injection end to end against the fake API server (issue 18, item 5): the controller runs with
 * `use: kubernetes` from a config file; the webhook configuration is `trellis install`'s (pointed at the
 * injector by URL: the fake has no cluster network) and gets its caBundle from the controller; Debian's
 * kubectl applies a pod; the API server calls the webhook, applies its JSON Patch and stores the pod; the
 * bootstrap Secret was created through the API. Then the pod's own agent command, with a projected-token
 * stand-in the fake's TokenReview knows, obtains the Envoy's xDS client certificate, and an ADS client using
 * the Secret's bootstrap and that certificate connects and is configured.
 */

let api: FakeApiServer;
let mesh: Mesh;
let work: string;
let identityUrl: string;
const conns: AdsConnection[] = [];

async function ctl(args: string[], input?: string): Promise<string> {
  const r = await kubectl(api, args, input === undefined ? {} : { input });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const cli = (args: string[]) => runTrellis(args);

const POD = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'bookstore-v1-7d9c5', namespace: 'bookstore', labels: { app: 'bookstore', version: 'v1' } },
  spec: {
    serviceAccountName: 'bookstore-v1',
    containers: [
      {
        name: 'bookstore',
        image: 'openservicemesh/bookstore:v1',
        ports: [{ name: 'http', containerPort: 14001 }],
        livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 5 },
        readinessProbe: { httpGet: { path: '/ready', port: 14001 } },
        startupProbe: { httpGet: { path: '/started', port: 14001 }, failureThreshold: 30 },
      },
    ],
  },
};

const SERVICE = stringify({
  apiVersion: 'v1',
  kind: 'List',
  items: [
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'bookstore', namespace: 'bookstore' }, spec: { selector: { app: 'bookstore' }, ports: [{ name: 'http', port: 14001, appProtocol: 'http' }] } },
    {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'bookstore', namespace: 'bookstore' },
      subsets: [{ addresses: [{ ip: '10.1.0.5', targetRef: { kind: 'Pod', namespace: 'bookstore', name: POD.metadata.name } }], ports: [{ name: 'http', port: 14001 }] }],
    },
  ],
});

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'trellis-injection-e2e-'));
  api = await FakeApiServer.start();
  await api.kubeconfig(join(work, 'kubeconfig'));
  await ctl(['create', 'namespace', 'bookstore']);
  await ctl(['label', 'namespace', 'bookstore', 'trellis.io/monitored-by=trellis']);
  await ctl(['create', 'namespace', 'other']);
  await writeFile(
    join(work, 'trellis.yaml'),
    `plugins:\n  sources: [ { use: kubernetes, config: { kubeconfig: ./kubeconfig, staleAfterSeconds: 30 } } ]\n  proxies: [ { use: envoy } ]\n` +
      `  certificates: { use: selfsigned, config: { stateDir: ./ca } }\n` +
      `xds: { address: 127.0.0.1:0 }\nadmin: { address: 127.0.0.1:0 }\nlog: { level: silent }\n` +
      `identity: { address: 127.0.0.1:0, serviceAccountAudience: trellis }\ninjector: { address: 127.0.0.1:0 }\n`,
  );
  mesh = await startMesh({ config: await loadConfig(join(work, 'trellis.yaml')), parts: defaultParts, logger: silentLogger(), adminAddress: '127.0.0.1:0' });
  const handle = mesh.container.resolve(controllerRef);
  identityUrl = handle.identityUrl() ?? '';
  const injector = new URL(handle.injectorUrl() ?? '');
  // The install's webhook configuration, as `trellis install | kubectl apply -f -` creates it, but called by URL.
  const install = await cli(['install']);
  expect(install.code).toBe(0);
  const mwc = parseAllDocuments(install.out)
    .map((d) => d.toJS() as { kind?: string; webhooks?: { clientConfig: Record<string, unknown> }[] })
    .find((o) => o?.kind === 'MutatingWebhookConfiguration');
  if (!mwc?.webhooks?.[0]) throw new Error('trellis install rendered no MutatingWebhookConfiguration');
  expect(mwc.webhooks[0].clientConfig.caBundle).toBeUndefined();
  mwc.webhooks[0].clientConfig = { url: `https://localhost:${injector.port}/mutate-pod-creation` };
  await ctl(['apply', '--validate=false', '-f', '-'], stringify(mwc));
}, 120_000);

afterAll(async () => {
  for (const c of conns) c.close();
  await mesh?.stop();
  await api?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('sidecar injection through the API server', () => {
  it('the controller fills in the webhook configuration caBundle (it was created after the controller started)', async () => {
    await eventually(async () => {
      const cfg = JSON.parse(await ctl(['get', 'mutatingwebhookconfiguration', 'trellis-injector-trellis', '-o', 'json'])) as { webhooks: { clientConfig: { caBundle?: string } }[] };
      const pem = Buffer.from(cfg.webhooks[0]?.clientConfig.caBundle ?? '', 'base64').toString('utf8');
      expect(pem).toBe(await readFile(join(work, 'identity-tokens', 'trust-bundle.pem'), 'utf8'));
    }, 30_000);
  });

  it('kubectl apply of a pod in a monitored namespace stores it injected, with its bootstrap Secret', async () => {
    await ctl(['apply', '--validate=false', '-f', '-'], stringify(POD));
    const stored = JSON.parse(await ctl(['get', 'pod', '-n', 'bookstore', POD.metadata.name, '-o', 'json']));  
    const uuid = stored.metadata.labels['trellis.io/proxy-uuid'] as string;
    expect(uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(stored.metadata.labels).toMatchObject(POD.metadata.labels);
    expect(stored.spec.containers.map((c: { name: string }) => c.name)).toEqual(['bookstore', 'envoy']);
    expect(stored.spec.containers[1].securityContext).toMatchObject({ runAsUser: 1500, runAsNonRoot: true });
    expect(stored.spec.initContainers.map((c: { name: string }) => c.name)).toEqual(['trellis-init', 'trellis-agent']);
    expect(stored.spec.initContainers[0].command.join(' ')).toContain('REDIRECT --to-ports 15001');
    // The app container is the one applied, but for its probes, which go through Envoy's probe listeners.
    const app = stored.spec.containers[0];
    const { livenessProbe, readinessProbe, startupProbe, ...rest } = POD.spec.containers[0]!;
    expect(app).toMatchObject(rest);
    expect(app.livenessProbe).toEqual({ ...livenessProbe, httpGet: { path: '/osm-liveness-probe', port: 15901, scheme: 'HTTP' } });
    expect(app.readinessProbe).toEqual({ ...readinessProbe, httpGet: { path: '/osm-readiness-probe', port: 15902, scheme: 'HTTP' } });
    expect(app.startupProbe).toEqual({ ...startupProbe, httpGet: { path: '/osm-startup-probe', port: 15903, scheme: 'HTTP' } });
    // The bootstrap Secret, created through the API before the pod was stored; it holds no key.
    const secretName = stored.spec.volumes.find((v: { name: string }) => v.name === 'trellis-bootstrap').secret.secretName as string;
    expect(secretName).toBe(`envoy-bootstrap-config-${uuid}`);
    const secret = JSON.parse(await ctl(['get', 'secret', '-n', 'bookstore', secretName, '-o', 'json'])) as { data: Record<string, string> };
    expect(Object.keys(secret.data).sort()).toEqual(['bootstrap.yaml', 'ca.crt']);
    const files = Object.fromEntries(Object.entries(secret.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
    const boot = parse(files['bootstrap.yaml'] ?? '') as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(validateBootstrap(boot)).toEqual([]);
    expect(parseNodeId(boot.node.id)).toMatchObject({ uuid, kind: 'sidecar', namespace: 'bookstore', serviceAccount: 'bookstore-v1' });
    // The bootstrap's probe listeners pass to the app's own ports and paths.
    const probeListeners = (boot.static_resources.listeners as { name: string; address: { socket_address: { port_value: number } } }[]).map((l) => l.address.socket_address.port_value);
    expect(probeListeners).toEqual(expect.arrayContaining([15901, 15902, 15903]));
    expect(JSON.stringify(boot)).toContain('/healthz');
    await writeFile(join(work, 'pod.json'), JSON.stringify({ stored, files }));
  });

  it("a ReplicaSet's pod gets a bootstrap Secret owned by the ReplicaSet (garbage-collected with it); a bare pod's has no owner", async () => {
    const owner = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'bookstore-v1-7d9c5', uid: '5f0c6d1e-8a7b-4c3d-9e2f-1a2b3c4d5e6f', controller: true, blockOwnerDeletion: true };
    const other = { apiVersion: 'v1', kind: 'ConfigMap', name: 'not-the-controller', uid: '11111111-2222-3333-4444-555555555555' };
    const pod = { ...POD, metadata: { ...POD.metadata, name: 'bookstore-v1-7d9c5-owned', ownerReferences: [other, owner] } };
    await ctl(['apply', '--validate=false', '-f', '-'], stringify(pod));
    const secretOf = async (name: string) => {
      const stored = JSON.parse(await ctl(['get', 'pod', '-n', 'bookstore', name, '-o', 'json']));
      const secretName = stored.spec.volumes.find((v: { name: string }) => v.name === 'trellis-bootstrap').secret.secretName as string;
      return JSON.parse(await ctl(['get', 'secret', '-n', 'bookstore', secretName, '-o', 'json'])) as { metadata: { ownerReferences?: unknown[] } };
    };
    // Only the controller reference; without blockOwnerDeletion (that needs update on the owner's finalizers).
    expect((await secretOf(pod.metadata.name)).metadata.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: owner.name, uid: owner.uid }]);
    expect((await secretOf(POD.metadata.name)).metadata.ownerReferences).toBeUndefined();
  });

  it('a pod whose bootstrap Secret the API server refuses is not created, and kubectl says why', async () => {
    api.faults.fail(1, 403, /\/namespaces\/bookstore\/secrets/);
    const r = await kubectl(api, ['apply', '--validate=false', '-f', '-'], { input: stringify({ ...POD, metadata: { ...POD.metadata, name: 'refused' } }) });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('denied the request: trellis: injection failed: creating Secret bookstore/envoy-bootstrap-config-');
    expect(r.stderr).toContain('403');
    expect((await kubectl(api, ['get', 'pod', '-n', 'bookstore', 'refused'])).code).not.toBe(0);
  });

  it('a pod in a namespace outside the mesh is stored as applied', async () => {
    await ctl(['apply', '--validate=false', '-f', '-'], stringify({ ...POD, metadata: { ...POD.metadata, namespace: 'other' } }));
    const stored = JSON.parse(await ctl(['get', 'pod', '-n', 'other', POD.metadata.name, '-o', 'json'])) as { spec: { containers: unknown[]; initContainers?: unknown[] }; metadata: { labels: Record<string, string> } };
    expect(stored.spec.containers).toHaveLength(1);
    expect(stored.spec.initContainers).toBeUndefined();
    expect(stored.metadata.labels['trellis.io/proxy-uuid']).toBeUndefined();
  });

  it("the pod's agent command gets the Envoy's certificate with its ServiceAccount token (TokenReview), and a proxy using the bootstrap is configured", async () => {
    const { stored, files } = JSON.parse(await readFile(join(work, 'pod.json'), 'utf8')) as { stored: any; files: Record<string, string> }; // eslint-disable-line @typescript-eslint/no-explicit-any
    const agent = stored.spec.initContainers.find((c: { name: string }) => c.name === 'trellis-agent') as { args: string[] };
    // The pod's files, mapped to a directory here: the Secret's ca.crt, the projected token, the certificates emptyDir.
    const dir = join(work, 'envoy-certs');
    await writeFile(join(work, 'ca.crt'), files['ca.crt'] ?? '');
    await writeFile(join(work, 'token'), 'pod-token-bookstore-v1\n');
    api.tokens.set('pod-token-bookstore-v1', { username: 'system:serviceaccount:bookstore:bookstore-v1', audiences: ['trellis'] });
    const mapped = { '--dir': dir, '--server': identityUrl, '--ca': join(work, 'ca.crt'), '--token-file': join(work, 'token') } as Record<string, string>;
    const args = agent.args.map((a, i) => mapped[agent.args[i - 1] ?? ''] ?? a);
    expect(args.slice(0, 3)).toEqual(['agent', '--identity', 'bookstore/bookstore-v1']);
    const r = await cli([...args, '--once']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(api.requests.some((q) => q.method === 'POST' && q.path.startsWith('/apis/authentication.k8s.io/v1/tokenreviews'))).toBe(true);
    const boot = parse(files['bootstrap.yaml'] ?? '') as { node: { id: string } };
    const certPem = await readFile(join(dir, 'tls.crt'), 'utf8');
    expect(new X509Certificate(certPem).subjectAltName).toContain(boot.node.id);
    const sds = parse(await readFile(join(dir, 'xds-client-sds.yaml'), 'utf8')) as { resources: (Record<string, unknown> & { '@type': string })[] };
    for (const { '@type': type, ...s } of sds.resources) expect(validateEnvoyResource(type, s)).toEqual([]);

    // The pod's Service and its endpoint, so the proxy has something of the mesh to be configured with.
    await ctl(['apply', '--validate=false', '-f', '-'], SERVICE);

    // Envoy's ADS connection as the bootstrap describes it (node id), with the agent's certificate.
    const handle = mesh.container.resolve(controllerRef);
    const conn = new AdsConnection({ address: `127.0.0.1:${handle.ports().port}`, tls: { caPem: files['ca.crt'] ?? '', certPem, keyPem: await readFile(join(dir, 'tls.key'), 'utf8') } });
    conns.push(conn);
    const s = conn.sotw();
    s.send({ node: { id: boot.node.id }, type_url: TypeUrls.cluster });
    s.send({ type_url: TypeUrls.listener });
    // ACK every response until the proxy holds the Service's local cluster and its inbound listener.
    const names = new Map<string, string[]>();
    await eventually(async () => {
      while (!(names.get(TypeUrls.cluster)?.includes('bookstore/bookstore|14001|local') && names.get(TypeUrls.listener)?.includes('inbound-listener'))) {
        const r = await s.next(30_000);
        s.send({ type_url: r.type_url, version_info: r.version_info, response_nonce: r.nonce });
        const typeUrl = r.type_url ?? '';
        const type = xds.messageType(typeUrl);
        names.set(typeUrl, (r.resources ?? []).map((x) => String((type.toObject(type.decode(x.value as Buffer)) as { name?: string }).name)));
      }
    }, 30_000);
    await eventually(async () => {
      const proxies = (await (await fetch(`${mesh.adminUrl}/debug/proxies`)).json()) as { nodeId?: string; id?: string }[];
      expect(JSON.stringify(proxies)).toContain(boot.node.id);
    }, 10_000);
    s.cancel();
  });
});

describe('ServiceAccount tokens checked by TokenReview against the API server', () => {
  const ask = async (identity: string, token: string) => {
    await writeFile(join(work, 'sa-token'), token);
    return cli(['agent', '--identity', identity, '--dir', join(work, `sa-${Math.random().toString(36).slice(2)}`), '--server', identityUrl, '--ca', join(work, 'identity-tokens', 'trust-bundle.pem'), '--token-file', join(work, 'sa-token'), '--once']);
  };

  it('a valid token gets a certificate for its ServiceAccount', async () => {
    api.tokens.set('tok-buyer', { username: 'system:serviceaccount:bookbuyer:bookbuyer', audiences: ['trellis'] });
    const r = await ask('bookbuyer/bookbuyer', 'tok-buyer');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
  });

  it("a token for another ServiceAccount is refused, and so is one the API server does not know", async () => {
    const other = await ask('bookstore/bookstore-v1', 'tok-buyer');
    expect(other.code).toBe(1);
    expect(other.err).toContain('refused (403)');
    expect(other.err).toContain('bookstore/bookstore-v1');
    const unknown = await ask('bookbuyer/bookbuyer', 'tok-nobody');
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('not authenticated');
  });

  it('a token bound to another audience is refused', async () => {
    api.tokens.set('tok-vault', { username: 'system:serviceaccount:bookbuyer:bookbuyer', audiences: ['vault'] });
    const r = await ask('bookbuyer/bookbuyer', 'tok-vault');
    expect(r.code).toBe(1);
    expect(r.err).toContain('audience');
  });

  it('a TokenReview that fails closes the request', async () => {
    api.faults.fail(1, 503, /tokenreviews/);
    const r = await ask('bookbuyer/bookbuyer', 'tok-buyer');
    expect(r.code).toBe(1);
    expect(r.err).toContain('TokenReview failed');
    // The same token works again once the API server answers.
    expect((await ask('bookbuyer/bookbuyer', 'tok-buyer')).code).toBe(0);
  });
});
