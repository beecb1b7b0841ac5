/**
 * A fake Kubernetes API server over real HTTPS for tests: the wire protocol the real clients speak
 * (@kubernetes/client-node, Debian's kubectl 1.20 and python3-kubernetes), with an in-memory store.
 *
 * - discovery: `/version`, `/api`, `/api/v1`, `/apis`, `/apis/<group>/<version>` (types.ts);
 * - one global resourceVersion; list (`metadata.resourceVersion`, label and field selectors; items without
 *   apiVersion/kind, as a real server sends them); list items never carry `managedFields`;
 * - watch: newline-delimited JSON `{type, object}` strictly after `resourceVersion` (without one, synthetic
 *   ADDED events for what exists), BOOKMARKs when `allowWatchBookmarks=true`, `timeoutSeconds`; history kept for
 *   `historyLimit` events, older versions answer 410 Expired: in-stream ERROR for a watch (as the real server
 *   does), HTTP 410 for a list (`goneAsHttp` makes a watch answer HTTP 410 too);
 * - create (409 AlreadyExists, 404 when the namespace is missing), update (409 Conflict on a stale
 *   resourceVersion), merge / strategic-merge / JSON patch, delete (a namespace takes its objects along),
 *   Status objects for every failure, 422 Invalid for an SMI object its CRD schema rejects, 415 for protobuf
 *   and apply-patch bodies (what kubectl 1.20 sends for `create`/`apply` of built-in kinds);
 * - bearer-token authentication (401 without it); TokenReview answered from `tokens`;
 * - mutating admission webhooks called on pod create (admission.ts);
 * - fault injection (`faults`): 5xx on the next requests, slow responses, watches that stall silently, abrupt
 *   resets, and the whole server going down and coming back on the same port.
 *
 * No OpenAPI document is served, so kubectl needs `--validate=false` for apply and create.
 * - the `/status` subresource (types with `status`, e.g. Gateway API routes, CertificateRequests): a write
 *   there changes only `status` (spec and metadata ignored; 409 on a stale resourceVersion), a write to the
 *   object itself leaves `status` as it is; `metadata.generation` counts spec changes only, resourceVersion
 *   every change; a custom resource created with a status starts without one.
 *
 * Deliberate simplifications: `status` given on create of a built-in kind is kept (tests create pods with their IP in one step);
 * admission only for pod create, no finalizers, no graceful deletion, no server-side apply, no protobuf.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { createTestCa } from '../pki.ts';
import { AdmissionError, admitPod } from './admission.ts';
import { jsonPatch, mergePatch, strategicMergePatch, type Json } from './patch.ts';
import { fieldSelector, labelSelector } from './selectors.ts';
import { DEFAULT_TYPES, apiVersionOf, groupList, resourceList, type ResourceType } from './types.ts';

export interface KubeObj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; uid?: string; labels?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
}

export interface FakeApiServerOptions {
  /** Events kept for watches from an older version (default 1000). */
  readonly historyLimit?: number;
  /** How often an idle watch that asked for bookmarks gets one (default 1000 ms; a real server: about a minute). */
  readonly bookmarkIntervalMs?: number;
  /** Answer a watch from a compacted version with HTTP 410 instead of an in-stream ERROR event. */
  readonly goneAsHttp?: boolean;
  /** More resource types. */
  readonly types?: readonly ResourceType[];
  /** API groups not served at start (a CRD not installed yet; `serveGroup` installs it). */
  readonly withoutGroups?: readonly string[];
}

interface Event {
  readonly rv: number;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly typeKey: string;
  readonly obj: KubeObj;
}

interface Watcher {
  readonly typeKey: string;
  readonly namespace: string | undefined;
  readonly match: (o: KubeObj) => boolean;
  readonly res: ServerResponse;
  stalled: boolean;
  lastRv: number;
}

/** A record of one request, for tests that check what a client sent. */
export interface RequestLog {
  readonly method: string;
  readonly path: string;
  readonly contentType: string | undefined;
}

class HttpError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

const typeKeyOf = (t: ResourceType): string => `${t.group}/${t.plural}`;
const clone = <T>(v: T): T => structuredClone(v);

export class FakeApiServer {
  readonly token = randomBytes(16).toString('hex');
  /** TokenReview answers: a token in this table is authenticated as its user (e.g. a pod's service account). */
  readonly tokens = new Map<string, { username: string; uid?: string; groups?: string[]; audiences?: string[] }>();
  readonly requests: RequestLog[] = [];
  readonly faults = {
    /** Answer the next `count` requests (matching `path`, if given) with `status`. */
    fail: (count: number, status = 500, path?: RegExp): void => {
      this.#failures.push({ left: count, status, path });
    },
    /** Delay every response by this much. */
    latencyMs: 0,
    /** Watch streams open now stop receiving anything (events and bookmarks) but stay open: a silent death. */
    stallWatches: (): void => {
      for (const w of this.#watchers) w.stalled = true;
    },
    /** Also stall every watch opened from now on (until `stallNew = false`). */
    stallNew: false,
    /** Destroys the sockets of every open watch without ending the response. */
    resetWatches: (): void => {
      for (const w of [...this.#watchers]) w.res.socket?.destroy();
    },
  };

  readonly #types: ResourceType[];
  #withheld: ResourceType[];
  readonly #opts: FakeApiServerOptions;
  /** typeKey -> "ns/name" -> object. */
  readonly #objects = new Map<string, Map<string, KubeObj>>();
  readonly #history: Event[] = [];
  readonly #watchers = new Set<Watcher>();
  readonly #sockets = new Set<Socket>();
  #failures: { left: number; status: number; path: RegExp | undefined }[] = [];
  #rv = 1000;
  /** Versions at or below this are compacted away. */
  #compactedRv = 1000;
  #server: Server;
  #port = 0;
  #bookmarks: NodeJS.Timeout;

  private constructor(
    opts: FakeApiServerOptions,
    readonly caPem: string,
    private readonly tls: { key: string; cert: string },
  ) {
    this.#opts = opts;
    const all = [...DEFAULT_TYPES, ...(opts.types ?? [])];
    this.#withheld = all.filter((t) => opts.withoutGroups?.includes(t.group));
    this.#types = all.filter((t) => !opts.withoutGroups?.includes(t.group));
    this.#server = this.#createServer();
    this.#bookmarks = setInterval(() => this.#sendBookmarks(), opts.bookmarkIntervalMs ?? 1000);
    this.#bookmarks.unref();
  }

  static async start(opts: FakeApiServerOptions = {}): Promise<FakeApiServer> {
    const ca = await createTestCa('Fake API Server CA');
    const server = await ca.server();
    const s = new FakeApiServer(opts, ca.caPem, { key: server.keyPem, cert: server.certPem });
    await s.up();
    return s;
  }

  get url(): string {
    return `https://127.0.0.1:${this.#port}`;
  }

  get resourceVersion(): string {
    return String(this.#rv);
  }

  /** A kubeconfig for this server (CA data and bearer token), written to `path` when given. */
  async kubeconfig(path?: string, opts: { namespace?: string } = {}): Promise<string> {
    const text = JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster: { server: this.url, 'certificate-authority-data': Buffer.from(this.caPem).toString('base64') } }],
      users: [{ name: 'tester', user: { token: this.token } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'tester', ...(opts.namespace && { namespace: opts.namespace }) } }],
      'current-context': 'fake',
    });
    if (path) await writeFile(path, text);
    return text;
  }

  /** Starts listening (again, on the same port after `down()`). */
  async up(): Promise<void> {
    if (this.#server.listening) return;
    this.#server = this.#createServer();
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#port, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  /** Stops listening and cuts every connection (the API server is unreachable until `up()`). */
  async down(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const s of this.#sockets) s.destroy();
    this.#watchers.clear();
    await closed;
  }

  async stop(): Promise<void> {
    clearInterval(this.#bookmarks);
    if (this.#server.listening) await this.down();
  }

  /** Forgets the event history up to now: watches from any older version get 410 Expired. */
  compact(): void {
    this.#history.length = 0;
    this.#compactedRv = this.#rv;
  }

  /** Ends every open watch with an in-stream 410 ERROR event (what a real server does after compaction). */
  expireWatches(): void {
    this.compact();
    for (const w of [...this.#watchers]) {
      this.#write(w, { type: 'ERROR', object: this.#status(new HttpError(410, 'Expired', `too old resource version: ${w.lastRv} (${this.#rv})`)) }, true);
      w.res.end();
      this.#watchers.delete(w);
    }
  }

  /** Starts serving a group left out with `withoutGroups` (as installing its CRDs does). */
  serveGroup(group: string): void {
    this.#types.push(...this.#withheld.filter((t) => t.group === group));
    this.#withheld = this.#withheld.filter((t) => t.group !== group);
  }

  get openWatches(): number {
    return this.#watchers.size;
  }

  // ---- direct access to the state (what tests compare the controller with) ----

  /** Every object of `apiVersion`/`kind` (any version of its group), with apiVersion and kind set. */
  objects(apiVersion: string, kind: string): KubeObj[] {
    const t = this.#typeOf(apiVersion, kind);
    return [...(this.#objects.get(typeKeyOf(t))?.values() ?? [])].map((o) => ({ ...clone(o), apiVersion, kind }));
  }

  create(obj: KubeObj): KubeObj {
    const t = this.#typeOf(obj.apiVersion, obj.kind);
    return this.#create(t, obj.metadata.namespace, clone(obj));
  }

  /** Creates or replaces (ignoring resourceVersion; spec and status alike, a test's back door). */
  put(obj: KubeObj): KubeObj {
    const t = this.#typeOf(obj.apiVersion, obj.kind);
    const cur = this.#objects.get(typeKeyOf(t))?.get(`${obj.metadata.namespace ?? ''}/${obj.metadata.name}`);
    if (!cur) return this.create(obj);
    return this.#update(t, cur, { ...clone(obj), metadata: { ...clone(obj.metadata), resourceVersion: cur.metadata.resourceVersion } }, 'direct');
  }

  /** Replaces the status of an existing object (what another controller's `/status` write does). */
  putStatus(apiVersion: string, kind: string, namespace: string | undefined, name: string, status: unknown): KubeObj {
    const t = this.#typeOf(apiVersion, kind);
    const cur = this.#objects.get(typeKeyOf(t))?.get(`${namespace ?? ''}/${name}`);
    if (!cur) throw new Error(`no ${kind} ${namespace ?? ''}/${name}`);
    return this.#update(t, cur, { ...clone(cur), status: clone(status) }, 'status');
  }

  remove(apiVersion: string, kind: string, namespace: string | undefined, name: string): void {
    const t = this.#typeOf(apiVersion, kind);
    this.#delete(t, namespace, name);
  }

  // ---- HTTP ----

  #createServer(): Server {
    const server = createServer({ key: this.tls.key, cert: this.tls.cert }, (req, res) => void this.#handle(req, res));
    server.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    server.on('secureConnection', (s) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    return server;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://fake');
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname + url.search, contentType: req.headers['content-type'] });
    const body = await readBody(req);
    try {
      if (this.faults.latencyMs > 0) await new Promise((r) => setTimeout(r, this.faults.latencyMs));
      if (req.headers.authorization !== `Bearer ${this.token}`) throw new HttpError(401, 'Unauthorized', 'Unauthorized');
      const failure = this.#failures.find((f) => f.left > 0 && (!f.path || f.path.test(url.pathname)));
      if (failure) {
        failure.left--;
        this.#failures = this.#failures.filter((f) => f.left > 0);
        throw new HttpError(failure.status, failure.status === 503 ? 'ServiceUnavailable' : 'InternalError', `injected failure (${failure.status})`);
      }
      const out = await this.#route(req.method ?? 'GET', url, body, req.headers['content-type'] ?? '', res);
      if (out === undefined) return; // a watch: the response stays open
      send(res, out.code ?? 200, out.body);
    } catch (err) {
      const e = err instanceof HttpError ? err : new HttpError(500, 'InternalError', (err as Error).message);
      send(res, e.code, this.#status(e));
    }
  }

  #status(e: HttpError): unknown {
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: e.message, reason: e.reason, ...(e.details && { details: e.details }), code: e.code };
  }

  async #route(method: string, url: URL, body: string, contentType: string, res: ServerResponse): Promise<{ code?: number; body: unknown } | undefined> {
    const parts = url.pathname.split('/').filter((p) => p !== '');
    if (method === 'GET' && url.pathname === '/version') return { body: { major: '1', minor: '34', gitVersion: 'v1.34.0-trellis-fake', platform: 'linux/amd64' } };
    if (method === 'GET' && url.pathname === '/api') return { body: { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `127.0.0.1:${this.#port}` }] } };
    if (method === 'GET' && url.pathname === '/apis') return { body: groupList(this.#types) };
    let group: string;
    let version: string;
    let rest: string[];
    if (parts[0] === 'api' && parts[1] === 'v1') [group, version, rest] = ['', 'v1', parts.slice(2)];
    else if (parts[0] === 'apis' && parts.length >= 3) [group, version, rest] = [parts[1]!, parts[2]!, parts.slice(3)];
    else throw new HttpError(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
    if (!this.#types.some((t) => t.group === group && t.version === version)) throw new HttpError(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
    if (rest.length === 0) {
      if (method !== 'GET') throw new HttpError(405, 'MethodNotAllowed', 'method not allowed');
      return { body: resourceList(this.#types, group, version) };
    }
    // /namespaces/<ns>/<plural>[/<name>[/status]] or /<plural>[/<name>[/status]]
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3 && !(group === '' && rest.length === 3 && rest[2] === 'status')) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const [plural, name, sub] = rest as [string, string | undefined, string | undefined];
    const t = this.#types.find((x) => x.group === group && x.version === version && x.plural === plural);
    if (!t) throw new HttpError(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
    if (sub !== undefined && (sub !== 'status' || !t.status)) throw new HttpError(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
    if (namespace !== undefined && !t.namespaced) throw new HttpError(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
    if (name === undefined) {
      if (method === 'GET') {
        if (bool(url.searchParams.get('watch'))) return this.#watch(t, namespace, url, res);
        return { body: this.#list(t, namespace, url) };
      }
      if (method === 'POST') {
        const obj = decode(body, contentType) as KubeObj;
        if (t.kind === 'TokenReview') return { code: 201, body: this.#review(obj) };
        const ns = t.namespaced ? (namespace ?? obj.metadata?.namespace) : undefined;
        if (t.namespaced && ns === undefined) throw new HttpError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
        // A custom resource with a status subresource starts without status (a real server drops it);
        // built-in kinds keep it (a simplification: tests create pods with their IPs in one step).
        if (t.status && t.group !== '' && obj && typeof obj === 'object') delete (obj as { status?: unknown }).status;
        const admitted = t.kind === 'Pod' && t.group === '' && ns !== undefined ? await this.#admit(obj, ns) : obj;
        return { code: 201, body: this.#out(t, this.#create(t, ns, admitted)) };
      }
      if (method === 'DELETE') throw new HttpError(405, 'MethodNotAllowed', 'deletecollection is not supported by the fake');
      throw new HttpError(405, 'MethodNotAllowed', 'method not allowed');
    }
    const key = `${namespace ?? ''}/${name}`;
    const cur = this.#objects.get(typeKeyOf(t))?.get(key);
    const notFound = (): HttpError => new HttpError(404, 'NotFound', `${plural}${t.group ? `.${t.group}` : ''} "${name}" not found`, { name, group: t.group, kind: plural });
    switch (method) {
      case 'GET':
        if (!cur) throw notFound();
        return { body: this.#out(t, cur) };
      case 'PUT': {
        const obj = decode(body, contentType) as KubeObj;
        if (!cur) throw notFound();
        if (obj.metadata?.name !== name) throw new HttpError(400, 'BadRequest', 'the name of the object does not match the name on the URL');
        return { body: this.#out(t, this.#update(t, cur, obj, sub === 'status' ? 'status' : 'main')) };
      }
      case 'PATCH': {
        if (!cur) throw notFound();
        const patch = decode(body, contentType.split(';')[0] === 'application/json-patch+json' ? 'application/json' : contentType);
        const base = clone(cur) as unknown as Json;
        let next: Json;
        const ct = contentType.split(';')[0]!.trim();
        try {
          if (ct === 'application/merge-patch+json') next = mergePatch(base, patch as Json);
          else if (ct === 'application/strategic-merge-patch+json') {
            if (t.validate) throw new HttpError(415, 'UnsupportedMediaType', 'strategic merge patch is not supported for custom resources');
            next = strategicMergePatch(base, patch as Json);
          } else if (ct === 'application/json-patch+json') next = jsonPatch(base, patch);
          else throw new HttpError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got ${ct})`);
        } catch (err) {
          if (err instanceof HttpError) throw err;
          throw new HttpError(422, 'Invalid', `the patch cannot be applied: ${(err as Error).message}`);
        }
        const nextObj = next as unknown as KubeObj;
        const patchedRv = (patch as { metadata?: { resourceVersion?: string } } | null)?.metadata?.resourceVersion;
        if (patchedRv === undefined) nextObj.metadata = { ...nextObj.metadata, resourceVersion: cur.metadata.resourceVersion };
        return { body: this.#out(t, this.#update(t, cur, nextObj, sub === 'status' ? 'status' : 'main')) };
      }
      case 'DELETE':
        if (!cur) throw notFound();
        return { body: this.#out(t, this.#delete(t, namespace, name)) };
      default:
        throw new HttpError(405, 'MethodNotAllowed', 'method not allowed');
    }
  }

  /** The registered mutating webhooks' verdict on a pod about to be created (admission.ts). */
  async #admit(obj: KubeObj, namespace: string): Promise<KubeObj> {
    const configs = [...(this.#objects.get('admissionregistration.k8s.io/mutatingwebhookconfigurations')?.values() ?? [])].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
    if (configs.length === 0) return obj;
    const nsLabels = this.#objects.get('/namespaces')?.get(`/${namespace}`)?.metadata.labels ?? {};
    try {
      return (await admitPod(configs, obj, namespace, nsLabels, 'tester')) as KubeObj;
    } catch (err) {
      if (err instanceof AdmissionError) throw new HttpError(err.code, err.reason, err.message);
      throw err;
    }
  }

  /** A TokenReview answered from `tokens` (token -> user); unknown tokens are not authenticated. */
  #review(obj: KubeObj): unknown {
    const spec = (obj.spec ?? {}) as { token?: string; audiences?: string[] };
    const user = spec.token === undefined ? undefined : this.tokens.get(spec.token);
    const status = user
      ? { authenticated: true, user: { username: user.username, uid: user.uid ?? randomUUID(), groups: user.groups ?? ['system:authenticated'] }, audiences: user.audiences ?? spec.audiences ?? [] }
      : { authenticated: false, error: 'token not known to the fake API server' };
    return { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', metadata: { creationTimestamp: null }, spec, status };
  }

  #typeOf(apiVersion: string, kind: string): ResourceType {
    const [g, v] = apiVersion.includes('/') ? (apiVersion.split('/') as [string, string]) : ['', apiVersion];
    const t = this.#types.find((x) => x.group === g && x.version === v && x.kind === kind) ?? this.#types.find((x) => x.group === g && x.kind === kind);
    if (!t) throw new Error(`the fake API server has no type ${apiVersion} ${kind}`);
    return t;
  }

  /** The stored form (one per group and kind) served as `t`'s version. */
  #out(t: ResourceType, o: KubeObj): KubeObj {
    return { ...clone(o), apiVersion: apiVersionOf(t), kind: t.kind };
  }

  #list(t: ResourceType, namespace: string | undefined, url: URL): unknown {
    const rv = url.searchParams.get('resourceVersion');
    if (rv && rv !== '0' && Number(rv) < this.#compactedRv && url.searchParams.get('resourceVersionMatch') === 'Exact')
      throw new HttpError(410, 'Expired', `too old resource version: ${rv} (${this.#rv})`);
    const match = this.#matcher(url);
    const items = [...(this.#objects.get(typeKeyOf(t))?.values() ?? [])]
      .filter((o) => (namespace === undefined || o.metadata.namespace === namespace) && match(o))
      .map((o) => {
        const out = clone(o) as Partial<KubeObj>;
        delete out.apiVersion;
        delete out.kind;
        return out;
      });
    // A real server's list items of built-in kinds carry no apiVersion/kind; custom resources' do.
    const builtin = t.group === '' || t.group.endsWith('.k8s.io');
    return {
      kind: `${t.kind}List`,
      apiVersion: apiVersionOf(t),
      metadata: { resourceVersion: String(this.#rv) },
      items: builtin ? items : items.map((o) => ({ ...o, apiVersion: apiVersionOf(t), kind: t.kind })),
    };
  }

  #matcher(url: URL): (o: KubeObj) => boolean {
    const ls = labelSelector(url.searchParams.get('labelSelector'));
    if (typeof ls === 'string') throw new HttpError(400, 'BadRequest', ls);
    const fs = fieldSelector(url.searchParams.get('fieldSelector'));
    if (typeof fs === 'string') throw new HttpError(400, 'BadRequest', fs);
    return (o) => ls(o) && fs(o);
  }

  #watch(t: ResourceType, namespace: string | undefined, url: URL, res: ServerResponse): undefined {
    const match = this.#matcher(url);
    const rvParam = url.searchParams.get('resourceVersion');
    const from = rvParam && rvParam !== '0' ? Number(rvParam) : undefined;
    if (from !== undefined && !Number.isFinite(from)) throw new HttpError(400, 'BadRequest', `invalid resource version ${JSON.stringify(rvParam)}`);
    const expired = from !== undefined && from < this.#compactedRv;
    if (expired && this.#opts.goneAsHttp) throw new HttpError(410, 'Expired', `too old resource version: ${from} (${this.#rv})`);
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const w: Watcher = {
      typeKey: typeKeyOf(t),
      namespace,
      match,
      res,
      stalled: this.faults.stallNew,
      lastRv: from ?? this.#rv,
    };
    const bookmarks = bool(url.searchParams.get('allowWatchBookmarks'));
    (w as { bookmarks?: boolean }).bookmarks = bookmarks;
    (w as { type?: ResourceType }).type = t;
    if (expired) {
      this.#write(w, { type: 'ERROR', object: this.#status(new HttpError(410, 'Expired', `too old resource version: ${from} (${this.#rv})`)) }, true);
      res.end();
      return undefined;
    }
    if (from === undefined) {
      for (const o of this.#objects.get(w.typeKey)?.values() ?? [])
        if ((namespace === undefined || o.metadata.namespace === namespace) && match(o)) this.#write(w, { type: 'ADDED', object: this.#out(t, o) });
    } else {
      for (const e of this.#history) if (e.rv > from && e.typeKey === w.typeKey) this.#deliver(w, e);
    }
    this.#watchers.add(w);
    const timeout = Number(url.searchParams.get('timeoutSeconds') ?? '0');
    const timer =
      timeout > 0
        ? setTimeout(() => {
            this.#watchers.delete(w);
            res.end();
          }, timeout * 1000)
        : undefined;
    res.on('close', () => {
      if (timer) clearTimeout(timer);
      this.#watchers.delete(w);
    });
    return undefined;
  }

  #write(w: Watcher, ev: unknown, force = false): void {
    if ((w.stalled && !force) || w.res.writableEnded || w.res.destroyed) return;
    w.res.write(`${JSON.stringify(ev)}\n`);
  }

  #deliver(w: Watcher, e: Event): void {
    if (e.typeKey !== w.typeKey || (w.namespace !== undefined && e.obj.metadata.namespace !== w.namespace) || !w.match(e.obj)) return;
    if (w.stalled) return;
    w.lastRv = e.rv;
    this.#write(w, { type: e.type, object: this.#out((w as { type?: ResourceType }).type!, e.obj) });
  }

  #sendBookmarks(): void {
    for (const w of this.#watchers) {
      if (!(w as { bookmarks?: boolean }).bookmarks || w.stalled) continue;
      const t = (w as { type?: ResourceType }).type!;
      this.#write(w, { type: 'BOOKMARK', object: { kind: t.kind, apiVersion: apiVersionOf(t), metadata: { resourceVersion: String(this.#rv) } } });
    }
  }

  #record(type: Event['type'], t: ResourceType, obj: KubeObj): void {
    const e: Event = { rv: Number(obj.metadata.resourceVersion), type, typeKey: typeKeyOf(t), obj: clone(obj) };
    this.#history.push(e);
    const limit = this.#opts.historyLimit ?? 1000;
    while (this.#history.length > limit) this.#compactedRv = this.#history.shift()!.rv;
    for (const w of this.#watchers) this.#deliver(w, e);
  }

  #validate(t: ResourceType, obj: KubeObj): void {
    const name = obj.metadata?.name;
    if (typeof name !== 'string' || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name) || name.length > 253)
      throw new HttpError(422, 'Invalid', `${t.kind} "${String(name)}" is invalid: metadata.name: Invalid value: must be a lowercase RFC 1123 subdomain`);
    const problems = t.validate?.({ ...obj, apiVersion: apiVersionOf(t), kind: t.kind }) ?? [];
    if (problems.length > 0)
      throw new HttpError(422, 'Invalid', `${t.kind}.${t.group} "${name}" is invalid: ${problems.join(', ')}`, {
        name,
        group: t.group,
        kind: t.kind,
        causes: problems.map((p) => ({ reason: 'FieldValueInvalid', message: p, field: p.split(':')[0] })),
      });
  }

  #create(t: ResourceType, namespace: string | undefined, obj: KubeObj): KubeObj {
    if (!obj || typeof obj.metadata !== 'object' || obj.metadata === null) throw new HttpError(400, 'BadRequest', 'metadata is required');
    if (!obj.metadata.name && typeof obj.metadata.generateName === 'string') obj.metadata.name = `${obj.metadata.generateName}${randomBytes(3).toString('hex').slice(0, 5)}`;
    if (obj.kind !== undefined && obj.kind !== t.kind) throw new HttpError(400, 'BadRequest', `the kind ${String(obj.kind)} does not match ${t.kind}`);
    this.#validate(t, obj);
    if (t.namespaced && namespace !== undefined && !this.#objects.get('/namespaces')?.has(`/${namespace}`))
      throw new HttpError(404, 'NotFound', `namespaces "${namespace}" not found`, { name: namespace, kind: 'namespaces' });
    const map = this.#objects.get(typeKeyOf(t)) ?? new Map<string, KubeObj>();
    this.#objects.set(typeKeyOf(t), map);
    const key = `${namespace ?? ''}/${obj.metadata.name}`;
    if (map.has(key))
      throw new HttpError(409, 'AlreadyExists', `${t.plural}${t.group ? `.${t.group}` : ''} "${obj.metadata.name}" already exists`, { name: obj.metadata.name, group: t.group, kind: t.plural });
    const stored: KubeObj = {
      ...obj,
      apiVersion: apiVersionOf(t),
      kind: t.kind,
      metadata: {
        ...obj.metadata,
        ...(t.namespaced ? { namespace } : {}),
        uid: randomUUID(),
        resourceVersion: String(++this.#rv),
        generation: 1,
        creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      },
    };
    if (!t.namespaced) delete stored.metadata.namespace;
    if (t.kind === 'Namespace') stored.status = { phase: 'Active' };
    map.set(key, stored);
    this.#record('ADDED', t, stored);
    return stored;
  }

  /**
   * `status`: a write to the `/status` subresource, only `status` changes (spec, metadata ignored). `main`: a
   * write to the object; for a type with a status subresource its `status` is ignored (kept as it is), as a
   * real server does. `direct`: the tests' back door, everything replaced.
   */
  #update(t: ResourceType, cur: KubeObj, obj: KubeObj, mode: 'main' | 'status' | 'direct' = 'direct'): KubeObj {
    const statusOnly = mode === 'status';
    if (typeof obj?.metadata !== 'object' || obj.metadata === null) throw new HttpError(400, 'BadRequest', 'metadata is required');
    const rv = obj.metadata.resourceVersion;
    if (rv === undefined || rv === '')
      throw new HttpError(422, 'Invalid', `${t.kind} "${cur.metadata.name}" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update`);
    if (rv !== cur.metadata.resourceVersion)
      throw new HttpError(409, 'Conflict', `Operation cannot be fulfilled on ${t.plural}${t.group ? `.${t.group}` : ''} "${cur.metadata.name}": the object has been modified; please apply your changes to the latest version and try again`, {
        name: cur.metadata.name,
        group: t.group,
        kind: t.plural,
      });
    const keepStatus = mode === 'main' && t.status === true;
    const base: KubeObj = statusOnly
      ? { ...clone(cur), status: obj.status }
      : keepStatus
        ? { ...obj, status: cur.status }
        : { ...obj, ...(cur.status !== undefined && !('status' in obj) && { status: cur.status }) };
    if (base.status === undefined) delete base.status;
    this.#validate(t, base);
    const { spec: a } = cur;
    const changedSpec = JSON.stringify(a) !== JSON.stringify(base.spec);
    const stored: KubeObj = {
      ...base,
      apiVersion: apiVersionOf(t),
      kind: t.kind,
      metadata: {
        ...(statusOnly ? cur.metadata : base.metadata),
        name: cur.metadata.name,
        ...(cur.metadata.namespace !== undefined && { namespace: cur.metadata.namespace }),
        uid: cur.metadata.uid,
        creationTimestamp: cur.metadata.creationTimestamp,
        generation: Number(cur.metadata.generation ?? 1) + (changedSpec ? 1 : 0),
        resourceVersion: String(cur.metadata.resourceVersion),
      },
    };
    // An update that changes nothing is a no-op: same version, no event.
    if (JSON.stringify(stored) === JSON.stringify(cur)) return cur;
    stored.metadata.resourceVersion = String(++this.#rv);
    this.#objects.get(typeKeyOf(t))!.set(`${cur.metadata.namespace ?? ''}/${cur.metadata.name}`, stored);
    this.#record('MODIFIED', t, stored);
    return stored;
  }

  #delete(t: ResourceType, namespace: string | undefined, name: string): KubeObj {
    const map = this.#objects.get(typeKeyOf(t));
    const key = `${namespace ?? ''}/${name}`;
    const cur = map?.get(key);
    if (!cur) throw new HttpError(404, 'NotFound', `${t.plural} "${name}" not found`);
    if (t.kind === 'Namespace')
      for (const other of this.#types)
        if (other.namespaced)
          for (const o of [...(this.#objects.get(typeKeyOf(other))?.values() ?? [])]) if (o.metadata.namespace === name) this.#delete(other, name, o.metadata.name);
    map!.delete(key);
    const gone: KubeObj = { ...cur, metadata: { ...cur.metadata, resourceVersion: String(++this.#rv) } };
    this.#record('DELETED', t, gone);
    return gone;
  }
}

/** A boolean query parameter as Go's strconv.ParseBool reads it (python3-kubernetes sends `True`). */
const bool = (v: string | null): boolean => v !== null && ['1', 't', 'true'].includes(v.toLowerCase());

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function decode(body: string, contentType: string): unknown {
  const ct = contentType.split(';')[0]!.trim();
  if (ct.includes('protobuf') || ct === 'application/apply-patch+yaml')
    throw new HttpError(415, 'UnsupportedMediaType', `the fake API server speaks JSON only (got ${ct}); create built-in kinds with a JSON client`);
  try {
    return JSON.parse(body) as unknown;
  } catch (err) {
    throw new HttpError(400, 'BadRequest', `invalid JSON body: ${(err as Error).message}`);
  }
}

function send(res: ServerResponse, code: number, body: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
