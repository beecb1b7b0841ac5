import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeApiServer, kubectl, python3Kubernetes } from '../support/fake-apiserver/index.ts';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createTestCa } from '../support/pki.ts';
import { requireTool, tools } from '../support/tools.ts';
import { eventually } from '../support/grpc-workloads.ts';

/**
 * The fake API server against independent real clients (Debian's kubectl 1.20, python3-kubernetes 22.6) and at
 * the wire level: what these tests see is the protocol a real API server speaks, so the source plugin's tests
 * against it mean something. Results are "against the fake API server", never "on Kubernetes".
 */

const BOOKSTORE = join(import.meta.dirname, '../../examples/bookstore');
let api: FakeApiServer;

interface Reply {
  status: number;
  body: string;
}

function call(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(`${api.url}${path}`, { method, ca: api.caPem, headers: { authorization: `Bearer ${api.token}`, 'content-type': contentType } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** Opens a watch and collects its events until the stream ends or `stop` is called. */
function watch(path: string): { events: { type: string; object: Record<string, unknown> }[]; status: Promise<number>; ended: Promise<void>; stop: () => void } {
  const events: { type: string; object: Record<string, unknown> }[] = [];
  let stop = (): void => {};
  let status!: (n: number) => void;
  const statusP = new Promise<number>((r) => (status = r));
  const ended = new Promise<void>((resolve) => {
    const req = request(`${api.url}${path}`, { ca: api.caPem, headers: { authorization: `Bearer ${api.token}` } }, (res) => {
      status(res.statusCode ?? 0);
      let buf = '';
      res.on('data', (c: Buffer) => {
        buf += c.toString();
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buf.slice(0, i)) as (typeof events)[number]);
          buf = buf.slice(i + 1);
        }
      });
      res.on('end', () => resolve());
      res.on('close', () => resolve());
    });
    req.on('error', () => resolve());
    req.end();
    stop = () => req.destroy();
  });
  return { events, status: statusP, ended, stop };
}

beforeAll(async () => {
  api = await FakeApiServer.start({ bookmarkIntervalMs: 100, historyLimit: 50 });
});
afterAll(async () => {
  await api?.stop();
});

describe('fake API server with kubectl 1.20', () => {
  it('applies the bookstore manifests, and a second apply changes nothing', async () => {
    expect((await kubectl(api, ['apply', '--validate=false', '-f', join(BOOKSTORE, 'namespaces.yaml')])).code).toBe(0);
    const first = await kubectl(api, ['apply', '--validate=false', '-R', '-f', BOOKSTORE]);
    expect(first.stderr).toBe('');
    expect(first.stdout).toContain('trafficsplit.split.smi-spec.io/bookstore-split created');
    expect(first.stdout).toContain('pod/bookstore-v1-0 created');
    const rv = api.resourceVersion;
    const again = await kubectl(api, ['apply', '--validate=false', '-R', '-f', BOOKSTORE]);
    expect(again.stdout).not.toContain('created');
    expect(again.stdout).not.toContain('configured');
    expect(api.resourceVersion).toBe(rv);
  });

  it('gets what the server holds', async () => {
    const r = await kubectl(api, ['get', 'endpointslices', '-A', '-o', 'json']);
    expect(r.code).toBe(0);
    const names = (JSON.parse(r.stdout) as { items: { metadata: { name: string } }[] }).items.map((i) => i.metadata.name).sort();
    expect(names).toEqual(api.objects('discovery.k8s.io/v1', 'EndpointSlice').map((o) => o.metadata.name).sort());
    expect(names).toContain('bookstore-v1pods');
  });

  it('re-applying an edited TrafficSplit patches it (merge patch) and bumps its version', async () => {
    const before = api.objects('split.smi-spec.io/v1alpha2', 'TrafficSplit')[0]!;
    const yaml = `apiVersion: split.smi-spec.io/v1alpha2
kind: TrafficSplit
metadata: { name: bookstore-split, namespace: bookstore }
spec:
  service: bookstore
  backends: [{ service: bookstore-v1, weight: 90 }, { service: bookstore-v2, weight: 10 }]
`;
    const r = await kubectl(api, ['apply', '--validate=false', '-f', '-'], { input: yaml });
    expect(r.stdout).toContain('configured');
    expect(api.requests.some((q) => q.method === 'PATCH' && q.path.includes('trafficsplits/bookstore-split') && q.contentType === 'application/merge-patch+json')).toBe(true);
    const after = api.objects('split.smi-spec.io/v1alpha2', 'TrafficSplit')[0]!;
    expect((after.spec as { backends: { weight: number }[] }).backends.map((b) => b.weight)).toEqual([90, 10]);
    expect(Number(after.metadata.resourceVersion)).toBeGreaterThan(Number(before.metadata.resourceVersion));
    expect(after.metadata.generation).toBe(2);
  });

  it('re-applying an edited Service sends a strategic merge patch the server applies', async () => {
    const yaml = `apiVersion: v1
kind: Service
metadata: { name: bookstore-v1, namespace: bookstore, labels: { app: bookstore, version: v1, edited: "yes" } }
spec:
  selector: { app: bookstore, version: v1 }
  ports: [{ name: grpc-bookstore, port: 14001, targetPort: 14021, appProtocol: grpc }]
`;
    const r = await kubectl(api, ['apply', '--validate=false', '-f', '-'], { input: yaml });
    expect(r.stdout).toContain('configured');
    expect(api.requests.some((q) => q.method === 'PATCH' && q.path.includes('services/bookstore-v1') && q.contentType === 'application/strategic-merge-patch+json')).toBe(true);
    const svc = api.objects('v1', 'Service').find((s) => s.metadata.name === 'bookstore-v1')!;
    expect(svc.metadata.labels?.edited).toBe('yes');
    expect((svc.spec as { ports: { targetPort: number }[] }).ports).toEqual([{ name: 'grpc-bookstore', port: 14001, targetPort: 14021, appProtocol: 'grpc' }]);
  });

  it('labels and deletes', async () => {
    expect((await kubectl(api, ['label', 'namespace', 'bookstore', 'trellis.io/monitored-by=trellis'])).code).toBe(0);
    expect(api.objects('v1', 'Namespace').find((n) => n.metadata.name === 'bookstore')!.metadata.labels).toEqual({ 'trellis.io/monitored-by': 'trellis' });
    const sel = await kubectl(api, ['get', 'ns', '-l', 'trellis.io/monitored-by=trellis', '-o', 'name']);
    expect(sel.stdout.trim()).toBe('namespace/bookstore');
    expect((await kubectl(api, ['label', 'namespace', 'bookstore', 'trellis.io/monitored-by-'])).code).toBe(0);
    expect(api.objects('v1', 'Namespace').find((n) => n.metadata.name === 'bookstore')!.metadata.labels ?? {}).toEqual({});
    const del = await kubectl(api, ['delete', 'pod', 'bookthief-0', '-n', 'bookthief']);
    expect(del.stdout).toContain('deleted');
    expect(api.objects('v1', 'Pod').map((p) => p.metadata.name)).not.toContain('bookthief-0');
    const missing = await kubectl(api, ['get', 'pod', 'bookthief-0', '-n', 'bookthief']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('pods "bookthief-0" not found');
  });

  it('rejects an SMI object its CRD schema rejects, with the field', async () => {
    const yaml = `apiVersion: split.smi-spec.io/v1alpha2
kind: TrafficSplit
metadata: { name: broken, namespace: bookstore }
spec: { service: bookstore, backends: [{ service: bookstore-v1 }] }
`;
    const r = await kubectl(api, ['apply', '--validate=false', '-f', '-'], { input: yaml });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('spec.backends[0].weight: Required value');
  });

  it('watches: kubectl get --watch prints an object created after it started', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trellis-kubectl-watch-'));
    const config = join(dir, 'config');
    await api.kubeconfig(config);
    const child = spawn(requireTool(tools.kubectl), ['--kubeconfig', config, '--cache-dir', dir, 'get', 'namespaces', '--watch-only', '-o', 'name'], { env: { PATH: process.env.PATH ?? '', HOME: dir } });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    try {
      await eventually(async () => {
        if (!api.requests.some((r) => r.path.startsWith('/api/v1/namespaces?') && r.path.includes('watch=true'))) throw new Error('kubectl has not opened its watch yet');
      }, 30_000);
      api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'watched' } });
      await eventually(async () => {
        if (!out.includes('namespace/watched')) throw new Error(`kubectl printed: ${out}`);
      }, 30_000);
    } finally {
      child.kill();
    }
  });
});

describe('fake API server with python3-kubernetes 22.6', () => {
  it('lists with a label selector and watches from the list version', async () => {
    api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'py', labels: { team: 'py' } } });
    const script = `
v1 = client.CoreV1Api()
lst = v1.list_namespace(label_selector='team=py')
print('LIST', [n.metadata.name for n in lst.items])
w = watch.Watch()
for e in w.stream(v1.list_namespaced_service_account, 'py', resource_version=lst.metadata.resource_version, timeout_seconds=20):
    print('EVENT', e['type'], e['object'].metadata.name, flush=True)
    if e['object'].metadata.name == 'sa2':
        w.stop()
`;
    const run = python3Kubernetes(api, script);
    await eventually(async () => {
      if (!api.requests.some((r) => r.path.startsWith('/api/v1/namespaces/py/serviceaccounts?') && /watch=true/i.test(r.path))) throw new Error('no watch yet');
    }, 30_000);
    api.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'sa1', namespace: 'py' } });
    api.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'sa2', namespace: 'py' } });
    const r = await run;
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe("LIST ['py']\nEVENT ADDED sa1\nEVENT ADDED sa2\n");
  });
});

describe('fake API server at the wire level', () => {
  it('answers 401 without the token, and Status objects for 404 and 409', async () => {
    const anon = await new Promise<number>((resolve) => request(`${api.url}/api/v1/namespaces`, { ca: api.caPem }, (res) => resolve(res.statusCode ?? 0)).end());
    expect(anon).toBe(401);
    const nf = await call('GET', '/api/v1/namespaces/nope');
    expect(nf.status).toBe(404);
    expect(JSON.parse(nf.body)).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404 });
    const ns = JSON.parse((await call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'wire' } })).body) as { metadata: { resourceVersion: string } };
    const dup = await call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'wire' } });
    expect(JSON.parse(dup.body)).toMatchObject({ reason: 'AlreadyExists', code: 409 });
    const upd = await call('PUT', '/api/v1/namespaces/wire', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'wire', resourceVersion: ns.metadata.resourceVersion, labels: { a: 'b' } } });
    expect(upd.status).toBe(200);
    const stale = await call('PUT', '/api/v1/namespaces/wire', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'wire', resourceVersion: ns.metadata.resourceVersion } });
    expect(JSON.parse(stale.body)).toMatchObject({ reason: 'Conflict', code: 409 });
    const missingNs = await call('POST', '/api/v1/namespaces/ghost/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } });
    expect(JSON.parse(missingNs.body)).toMatchObject({ reason: 'NotFound', code: 404, message: 'namespaces "ghost" not found' });
  });

  it('applies a JSON patch', async () => {
    const r = await call('PATCH', '/api/v1/namespaces/wire', [{ op: 'add', path: '/metadata/labels/c', value: 'd' }], 'application/json-patch+json');
    expect(r.status).toBe(200);
    expect((JSON.parse(r.body) as { metadata: { labels: unknown } }).metadata.labels).toEqual({ a: 'b', c: 'd' });
    const bad = await call('PATCH', '/api/v1/namespaces/wire', [{ op: 'test', path: '/metadata/name', value: 'other' }], 'application/json-patch+json');
    expect(bad.status).toBe(422);
  });

  it('lists without apiVersion/kind on built-in items, with the list resourceVersion', async () => {
    const list = JSON.parse((await call('GET', '/api/v1/namespaces?labelSelector=c%3Dd')).body) as { kind: string; metadata: { resourceVersion: string }; items: Record<string, unknown>[] };
    expect(list.kind).toBe('NamespaceList');
    expect(list.metadata.resourceVersion).toBe(api.resourceVersion);
    expect(list.items.map((i) => (i.metadata as { name: string }).name)).toEqual(['wire']);
    expect(list.items[0]!.kind).toBeUndefined();
  });

  it('watches strictly after a version, sends bookmarks when asked, and ends at timeoutSeconds', async () => {
    const from = api.resourceVersion;
    api.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'w1', namespace: 'wire' } });
    const w = watch(`/api/v1/serviceaccounts?watch=true&resourceVersion=${from}&allowWatchBookmarks=true&timeoutSeconds=2`);
    await eventually(async () => {
      if (!w.events.some((e) => e.type === 'BOOKMARK')) throw new Error('no bookmark yet');
    });
    expect(w.events[0]).toMatchObject({ type: 'ADDED', object: { kind: 'ServiceAccount', metadata: { name: 'w1' } } });
    expect(w.events.filter((e) => e.type !== 'BOOKMARK')).toHaveLength(1);
    await w.ended; // timeoutSeconds
  });

  it('answers a watch from a compacted version with an in-stream 410 ERROR, and an exact list with HTTP 410', async () => {
    const old = api.resourceVersion;
    api.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'w2', namespace: 'wire' } });
    api.compact();
    const w = watch(`/api/v1/serviceaccounts?watch=true&resourceVersion=${old}`);
    expect(await w.status).toBe(200);
    await w.ended;
    expect(w.events).toEqual([{ type: 'ERROR', object: expect.objectContaining({ kind: 'Status', code: 410, reason: 'Expired' }) }]);
    const list = await call('GET', `/api/v1/serviceaccounts?resourceVersion=${old}&resourceVersionMatch=Exact`);
    expect(list.status).toBe(410);
  });

  it('injects faults: 5xx, stalled and reset watches, down and up on the same port', async () => {
    api.faults.fail(2, 503, /serviceaccounts/);
    expect((await call('GET', '/api/v1/serviceaccounts')).status).toBe(503);
    expect((await call('GET', '/api/v1/namespaces')).status).toBe(200);
    expect((await call('GET', '/api/v1/serviceaccounts')).status).toBe(503);
    expect((await call('GET', '/api/v1/serviceaccounts')).status).toBe(200);

    const w = watch(`/api/v1/serviceaccounts?watch=true&resourceVersion=${api.resourceVersion}&allowWatchBookmarks=true`);
    await eventually(async () => {
      if (api.openWatches === 0) throw new Error('no watch');
    });
    api.faults.stallWatches();
    const seen = w.events.length;
    api.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'stalled', namespace: 'wire' } });
    const later = watch(`/api/v1/serviceaccounts?watch=true&resourceVersion=${api.resourceVersion}&allowWatchBookmarks=true`);
    await eventually(async () => {
      if (!later.events.some((e) => e.type === 'BOOKMARK')) throw new Error('no bookmark on the new watch');
    });
    expect(w.events.length).toBe(seen); // the stalled stream got neither the event nor bookmarks
    api.faults.resetWatches();
    await w.ended;
    await later.ended;

    const url = api.url;
    await api.down();
    await expect(call('GET', '/api/v1/namespaces')).rejects.toThrow();
    await api.up();
    expect(api.url).toBe(url);
    expect((await call('GET', '/api/v1/namespaces')).status).toBe(200);
  });
});

describe('fake API server: mutating webhooks on pod create, TokenReview', () => {
  it('calls a matching webhook over verified HTTPS and applies its JSON patch; honours namespaceSelector, denial and failurePolicy', async () => {
    const ca = await createTestCa('Webhook CA');
    const cert = await ca.server();
    const reviews: { request: { uid: string; namespace: string; name?: string; object: { metadata: { generateName?: string } } } }[] = [];
    let deny = false;
    const hook = createHttpsServer({ key: cert.keyPem, cert: cert.certPem }, (req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        const review = JSON.parse(text) as (typeof reviews)[number];
        reviews.push(review);
        const patch = [
          { op: 'add', path: '/metadata/labels', value: { injected: 'yes' } },
          { op: 'add', path: '/spec/containers/-', value: { name: 'sidecar', image: 'trellis/agent' } },
        ];
        const response = deny
          ? { uid: review.request.uid, allowed: false, status: { code: 403, message: 'no sidecars today' } }
          : { uid: review.request.uid, allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') };
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }));
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
    const url = `https://127.0.0.1:${(hook.address() as AddressInfo).port}/mutate`;
    try {
      api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'inject', labels: { 'trellis.io/monitored-by': 'trellis' } } });
      api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'plain' } });
      const webhook = (name: string, hookUrl: string, failurePolicy: string) => ({
        name,
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        failurePolicy,
        timeoutSeconds: 2,
        clientConfig: { url: hookUrl, caBundle: Buffer.from(ca.caPem).toString('base64') },
        rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
        namespaceSelector: { matchExpressions: [{ key: 'trellis.io/monitored-by', operator: 'Exists' }] },
      });
      api.create({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: 'a-injector' }, webhooks: [webhook('inject.trellis.io', url, 'Fail')] });
      const pod = (ns: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'web-', namespace: ns }, spec: { containers: [{ name: 'web', image: 'web' }] } });

      const made = await call('POST', '/api/v1/namespaces/inject/pods', pod('inject'));
      expect(made.status).toBe(201);
      const stored = JSON.parse(made.body) as { metadata: { name: string; labels: unknown }; spec: { containers: { name: string }[] } };
      expect(stored.metadata.labels).toEqual({ injected: 'yes' });
      expect(stored.spec.containers.map((c) => c.name)).toEqual(['web', 'sidecar']);
      expect(reviews[0]!.request).toMatchObject({ namespace: 'inject', object: { metadata: { generateName: 'web-' } } });
      expect(reviews[0]!.request.name).toBeUndefined();

      const other = JSON.parse((await call('POST', '/api/v1/namespaces/plain/pods', pod('plain'))).body) as { spec: { containers: unknown[] } };
      expect(other.spec.containers).toHaveLength(1); // namespaceSelector did not select it
      expect(reviews).toHaveLength(1);

      deny = true;
      const denied = await call('POST', '/api/v1/namespaces/inject/pods', pod('inject'));
      expect(denied.status).toBe(403);
      expect(JSON.parse(denied.body)).toMatchObject({ kind: 'Status', message: 'admission webhook "inject.trellis.io" denied the request: no sidecars today' });

      api.put({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: 'a-injector' }, webhooks: [webhook('down.trellis.io', 'https://127.0.0.1:1/x', 'Fail')] });
      const failed = await call('POST', '/api/v1/namespaces/inject/pods', pod('inject'));
      expect(failed.status).toBe(500);
      expect(JSON.parse(failed.body).message).toMatch(/^Internal error occurred: failed calling webhook "down.trellis.io": /);
      api.put({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: 'a-injector' }, webhooks: [webhook('down.trellis.io', 'https://127.0.0.1:1/x', 'Ignore')] });
      expect((await call('POST', '/api/v1/namespaces/inject/pods', pod('inject'))).status).toBe(201);
      api.remove('admissionregistration.k8s.io/v1', 'MutatingWebhookConfiguration', undefined, 'a-injector');
    } finally {
      hook.close();
    }
  });

  it('answers TokenReview from its token table', async () => {
    api.tokens.set('pod-token', { username: 'system:serviceaccount:inject:web', groups: ['system:serviceaccounts', 'system:authenticated'] });
    const review = (token: string) => call('POST', '/apis/authentication.k8s.io/v1/tokenreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: ['trellis'] } });
    const ok = JSON.parse((await review('pod-token')).body) as { status: unknown };
    expect(ok.status).toMatchObject({ authenticated: true, user: { username: 'system:serviceaccount:inject:web' }, audiences: ['trellis'] });
    const bad = JSON.parse((await review('nope')).body) as { status: unknown };
    expect(bad.status).toMatchObject({ authenticated: false });
  });
});

describe('fake API server: the /status subresource (Gateway API routes)', () => {
  const base = '/apis/gateway.networking.k8s.io/v1/namespaces/status-ns/httproutes';
  const routeYaml = (backend: string): string => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: r, namespace: status-ns }
spec:
  parentRefs: [{ group: "", kind: Service, name: svc }]
  rules: [{ backendRefs: [{ name: ${backend}, port: 80 }] }]
status:
  parents: [{ parentRef: { name: forged }, controllerName: x.io/forged, conditions: [] }]
`;
  const get = async (): Promise<{ metadata: { resourceVersion: string; generation: number }; spec: unknown; status?: { parents: { controllerName: string }[] } }> =>
    JSON.parse((await call('GET', `${base}/r`)).body) as never;

  it('drops status on create, keeps it on writes to the object, and changes only status through /status', async () => {
    api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'status-ns' } });
    expect((await kubectl(api, ['apply', '--validate=false', '-f', '-'], { input: routeYaml('a') })).code).toBe(0);
    const created = await get();
    expect(created.status).toBeUndefined();
    expect(created.metadata.generation).toBe(1);

    const ours = { parents: [{ parentRef: { group: '', kind: 'Service', name: 'svc' }, controllerName: 'trellismesh.io/gamma-controller', conditions: [] }] };
    // A /status write: spec and metadata in the body are ignored, resourceVersion moves, generation does not.
    const st = await call('PATCH', `${base}/r/status`, { metadata: { labels: { sneaky: 'yes' } }, spec: { parentRefs: [] }, status: ours }, 'application/merge-patch+json');
    expect(st.status).toBe(200);
    const afterStatus = await get();
    expect(afterStatus.status).toEqual(ours);
    expect(afterStatus.spec).toEqual(created.spec);
    expect((afterStatus.metadata as { labels?: unknown }).labels).toBeUndefined();
    expect(afterStatus.metadata.generation).toBe(1);
    expect(Number(afterStatus.metadata.resourceVersion)).toBeGreaterThan(Number(created.metadata.resourceVersion));
    // kubectl reads the status back as written.
    const jp = await kubectl(api, ['get', 'httproute', 'r', '-n', 'status-ns', '-o', 'jsonpath={.status}']);
    expect(JSON.parse(jp.stdout)).toEqual(ours);

    // A spec change through the object: generation moves, the status in the manifest is ignored.
    expect((await kubectl(api, ['apply', '--validate=false', '-f', '-'], { input: routeYaml('b') })).code).toBe(0);
    const afterSpec = await get();
    expect(afterSpec.metadata.generation).toBe(2);
    expect(afterSpec.status).toEqual(ours);

    // A stale resourceVersion on /status is a 409 Conflict.
    const stale = await call('PATCH', `${base}/r/status`, { metadata: { resourceVersion: afterStatus.metadata.resourceVersion }, status: { parents: [] } }, 'application/merge-patch+json');
    expect(stale.status).toBe(409);
    expect((await get()).status).toEqual(ours);
  });
});
