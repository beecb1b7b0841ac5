import { X509Certificate } from 'node:crypto';
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controllerRef, defaultParts, injectorRefs, loadConfig, silentLogger, startMesh, validateBootstrap, type BootstrapSecret, type Mesh } from '@trellis/core';
import { parseNodeId } from '@trellis/plugin-sdk';

/**
 * The sidecar injector as the API server calls it: real AdmissionReview JSON over HTTPS (checked against the
 * mesh CA, by the webhook's service name), the returned JSON Patch applied to the original pod.
 */

const work = mkdtempSync(join(tmpdir(), 'trellis-injector-'));
const config = join(work, 'trellis.yaml');
writeFileSync(
  config,
  `plugins:\n  proxies: [ { use: envoy }, { use: grpc } ]\n  certificates: { use: selfsigned, config: { stateDir: ./ca } }\n` +
    `xds: { address: 127.0.0.1:0 }\nadmin: { address: 127.0.0.1:0 }\nlog: { level: silent }\n` +
    // A short validity so the webhook's serving certificate rotates during the test.
    `certificates: { validity: 4s, renewBefore: 0.5, jitter: 0 }\n` +
    `injector: { address: 127.0.0.1:0, grpcXdsAddress: trellis.trellis-system.svc:15129 }\n`,
);

let mesh: Mesh;
let url: string;
const secrets: BootstrapSecret[] = [];
const bundles: string[] = [];
const ca = () => readFileSync(join(work, 'ca', 'ca.pem'), 'utf8');
/** The root certificate alone (the CA state file also holds its key). */
const root = () => /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/.exec(ca())?.[0];

beforeAll(async () => {
  mesh = await startMesh({ config: await loadConfig(config), parts: defaultParts, logger: silentLogger(), adminAddress: '127.0.0.1:0' });
  mesh.container.register(injectorRefs.secretWriter, { write: async (s) => void secrets.push(s) });
  mesh.container.register(injectorRefs.caBundle, { update: async (b) => void bundles.push(b) });
  url = mesh.container.resolve(controllerRef).injectorUrl() ?? '';
});
afterAll(async () => {
  await mesh?.stop();
  rmSync(work, { recursive: true, force: true });
});

function post(body: string): Promise<{ status: number; json: any; serial: string }> {  // eslint-disable-line @typescript-eslint/no-explicit-any
  return new Promise((resolve, reject) => {
    const req = request(`${url}/mutate-pod-creation`, { method: 'POST', agent: false, ca: ca(), servername: 'trellis-injector.trellis-system.svc', headers: { 'content-type': 'application/json' } }, (res) => {
      const serial = new X509Certificate((res.socket as TLSSocket).getPeerCertificate().raw).serialNumber;
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text), serial }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const pod = (annotations?: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { generateName: 'bookstore-v1-5d8f7c-', labels: { app: 'bookstore' }, ...(annotations ? { annotations } : {}) },
  spec: {
    serviceAccountName: 'bookstore-v1',
    containers: [
      {
        name: 'bookstore',
        image: 'bookstore:v1',
        ports: [{ name: 'http', containerPort: 14001 }],
        livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 5 },
        readinessProbe: { httpGet: { path: '/ready', port: 14001 } },
      },
    ],
  },
});
const review = (object: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid: 'a1b2', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace: 'bookstore', operation: 'CREATE', object, ...extra },
  });
const patched = (original: unknown, response: { patch: string }) => {
  const ops = JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8')) as Operation[];
  expect(fastJsonPatch.validate(ops, structuredClone(original))).toBeUndefined();
  return fastJsonPatch.applyPatch(structuredClone(original), ops, true, false).newDocument as any; // eslint-disable-line @typescript-eslint/no-explicit-any
};

describe('the sidecar-injector webhook', () => {
  it('adds the Envoy sidecar, the iptables init container, the certificate agent, the uuid label and rewritten probes', async () => {
    const original = pod();
    const r = await post(review(original));
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'a1b2', allowed: true, patchType: 'JSONPatch' } });
    const p = patched(original, r.json.response);
    const uuid = p.metadata.labels['trellis.io/proxy-uuid'];
    expect(uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(p.metadata.labels.app).toBe('bookstore');
    const envoy = p.spec.containers.find((c: { name: string }) => c.name === 'envoy');
    expect(envoy.securityContext).toMatchObject({ runAsUser: 1500, runAsNonRoot: true });
    expect(envoy.resources.limits.memory).toBeDefined();
    const [init, agent] = p.spec.initContainers;
    expect(init.name).toBe('trellis-init');
    expect(init.securityContext.capabilities.add).toEqual(['NET_ADMIN']);
    expect(init.command.join(' ')).toContain('REDIRECT --to-ports 15001');
    expect(init.command.join(' ')).toContain('--uid-owner 1500');
    expect(agent).toMatchObject({ name: 'trellis-agent', restartPolicy: 'Always' });
    expect(agent.args).toContain(`${uuid}.sidecar.bookstore-v1.bookstore.cluster.local`);
    const app = p.spec.containers[0];
    expect(app.livenessProbe.httpGet).toEqual({ path: '/osm-liveness-probe', port: 15901, scheme: 'HTTP' });
    expect(app.readinessProbe.httpGet).toEqual({ path: '/osm-readiness-probe', port: 15902, scheme: 'HTTP' });
    // The bootstrap Secret the pod mounts: strictly valid, its node id's uuid is the label, probes pass to the app.
    const secret = secrets.find((s) => s.name === `envoy-bootstrap-config-${uuid}`);
    expect(secret?.namespace).toBe('bookstore');
    expect(p.spec.volumes).toContainEqual({ name: 'trellis-bootstrap', secret: { secretName: secret?.name } });
    expect(Object.keys(secret?.data ?? {}).sort()).toEqual(['bootstrap.yaml', 'ca.crt']); // no key: the agent makes it in the pod
    const boot = parse(secret?.data['bootstrap.yaml'] ?? '') as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(validateBootstrap(boot)).toEqual([]);
    expect(parseNodeId(boot.node.id)).toMatchObject({ uuid, kind: 'sidecar', namespace: 'bookstore', serviceAccount: 'bookstore-v1' });
    expect(JSON.stringify(boot.static_resources.clusters)).toContain('"port_value":14001');
    expect(secret?.data['ca.crt']).toContain('BEGIN CERTIFICATE');
  });

  it('gives a proxyless gRPC pod its bootstrap and the certificate agent, and no Envoy or traffic capture', async () => {
    const original = pod({ 'trellis.io/proxy': 'grpc' });
    const r = await post(review(original));
    const p = patched(original, r.json.response);
    expect(p.spec.containers.map((c: { name: string }) => c.name)).toEqual(['bookstore']);
    expect(p.spec.initContainers.map((c: { name: string }) => c.name)).toEqual(['trellis-agent']);
    expect(p.spec.containers[0].env).toContainEqual({ name: 'GRPC_XDS_BOOTSTRAP', value: '/etc/trellis/bootstrap/bootstrap.json' });
    const secret = secrets.find((s) => s.name === `grpc-bootstrap-config-${p.metadata.labels['trellis.io/proxy-uuid']}`);
    const boot = JSON.parse(secret?.data['bootstrap.json'] ?? '{}') as { node: { id: string }; xds_servers: { server_uri: string }[] };
    expect(parseNodeId(boot.node.id)).toMatchObject({ kind: 'grpc' });
    expect(boot.xds_servers[0]?.server_uri).toBe('trellis.trellis-system.svc:15129');
  });

  it('honours opt-out (trellis.io and openservicemesh.io annotations) and leaves other operations alone', async () => {
    for (const a of [{ 'trellis.io/sidecar-injection': 'disabled' }, { 'openservicemesh.io/sidecar-injection': 'disabled' }] as Record<string, string>[]) {
      const r = await post(review(pod(a)));
      expect(r.json.response).toMatchObject({ allowed: true });
      expect(r.json.response.patch).toBeUndefined();
    }
    expect((await post(review(pod(), { operation: 'UPDATE' }))).json.response).toEqual({ uid: 'a1b2', allowed: true });
  });

  it('refuses invalid pods with allowed: false and the reason, and answers 400 to what is not an AdmissionReview', async () => {
    const bad = await post(review(pod({ 'trellis.io/sidecar-injection': 'yes' })));
    expect(bad.json.response).toMatchObject({ allowed: false, status: { code: 400, message: expect.stringContaining('"yes" must be "enabled" or "disabled"') } });
    const port = await post(review(pod({ 'trellis.io/outbound-port-exclusion-list': '3306,abc' })));
    expect(port.json.response.status.message).toBe('trellis: annotation trellis.io/outbound-port-exclusion-list: "abc" is not a port (1-65535)');
    const noContainers = await post(review({ metadata: {}, spec: {} }));
    expect(noContainers.json.response).toMatchObject({ allowed: false, status: { message: expect.stringContaining('spec.containers') } });
    expect((await post('{"kind":"AdmissionReview"}')).status).toBe(400);
    expect((await post('[1,2]')).status).toBe(400);
    expect((await post('not json')).status).toBe(400);
    const missingUid = await post(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {} }));
    expect(missingUid).toMatchObject({ status: 400, json: { error: 'request.uid must be a non-empty string' } });
    // Still serving.
    expect((await post(review(pod()))).json.response.allowed).toBe(true);
  });

  it("serves a certificate the controller issued and rotates, and keeps the webhook's caBundle current", async () => {
    const first = (await post(review(pod(), { operation: 'DELETE' }))).serial;
    let now = first;
    const deadline = Date.now() + 30_000;
    while (now === first && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      now = (await post(review(pod(), { operation: 'DELETE' }))).serial;
    }
    expect(now).not.toBe(first);
    expect(bundles.length).toBeGreaterThan(0);
    expect(bundles.at(-1)).toBe(root());
    expect(bundles.join('')).not.toContain('PRIVATE KEY');
  });
});
