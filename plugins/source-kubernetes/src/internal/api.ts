/**
 * The API server as the informers use it: @kubernetes/client-node's KubeConfig for the cluster, credentials
 * and TLS (found by the SDK's `loadKubeConfig`: kubeconfig, in-cluster service account, $KUBECONFIG, ~/.kube/config), its Watch for the streams, and plain GETs (through the
 * agent and headers KubeConfig prepares) for lists and discovery, so list items stay the server's JSON
 * (the typed API clients would turn them into class instances). Requests are rate-limited (`qps`, `burst`).
 */
import { request as httpRequest, type Agent, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { KubeConfig} from '@kubernetes/client-node';
import { Watch } from '@kubernetes/client-node';

/** An error answer of the API server (a Status object), or a transport failure (`code` 0). */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export { loadKubeConfig } from '@trellis/plugin-sdk/kubernetes';
export type { KubeconfigOptions } from '@trellis/plugin-sdk/kubernetes';

/** A token bucket: `qps` requests a second, bursts of `burst`. */
class RateLimiter {
  #tokens: number;
  #last = Date.now();
  constructor(
    private readonly qps: number,
    private readonly burst: number,
  ) {
    this.#tokens = burst;
  }
  async take(): Promise<void> {
    for (;;) {
      const now = Date.now();
      this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) / 1000) * this.qps);
      this.#last = now;
      if (this.#tokens >= 1) {
        this.#tokens -= 1;
        return;
      }
      await new Promise((r) => setTimeout(r, Math.ceil(((1 - this.#tokens) / this.qps) * 1000)));
    }
  }
}

export interface WatchHandle {
  abort(): void;
}

export class ApiClient {
  readonly #kc: KubeConfig;
  readonly #watch: Watch;
  readonly #limiter: RateLimiter;
  readonly #timeoutMs: number;

  constructor(kc: KubeConfig, opts: { qps: number; burst: number; requestTimeoutMs: number }) {
    this.#kc = kc;
    this.#watch = new Watch(kc);
    this.#limiter = new RateLimiter(opts.qps, opts.burst);
    this.#timeoutMs = opts.requestTimeoutMs;
  }

  get server(): string {
    return this.#kc.getCurrentCluster()?.server ?? '';
  }

  /** GETs `path` and parses the JSON answer; a non-2xx answer throws an ApiError with the Status message. */
  get(path: string): Promise<unknown> {
    return this.request('GET', path);
  }

  /** Sends a JSON `body` (a merge patch unless `contentType` says otherwise); same errors as `get`. */
  patch(path: string, body: unknown, contentType = 'application/merge-patch+json'): Promise<unknown> {
    return this.request('PATCH', path, { body, contentType });
  }

  async request(method: string, path: string, payload?: { body: unknown; contentType: string }): Promise<unknown> {
    await this.#limiter.take();
    const opts: { agent?: Agent; headers?: OutgoingHttpHeaders; auth?: string } = {};
    await this.#kc.applyToHTTPSOptions(opts);
    const url = new URL(this.server + path);
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    const data = payload === undefined ? undefined : Buffer.from(JSON.stringify(payload.body));
    const headers: OutgoingHttpHeaders = { ...opts.headers, accept: 'application/json', ...(payload && data && { 'content-type': payload.contentType, 'content-length': data.length }) };
    return new Promise((resolve, reject) => {
      const req = send(url, { method, headers, ...(opts.agent && { agent: opts.agent }), ...(opts.auth && { auth: opts.auth }), timeout: this.#timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => reject(new ApiError(0, `${method} ${path}: ${err.message}`)));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const code = res.statusCode ?? 0;
          let body: unknown;
          try {
            body = JSON.parse(text) as unknown;
          } catch {
            body = undefined;
          }
          if (code >= 200 && code < 300 && body !== undefined) resolve(body);
          else {
            const msg = (body as { message?: unknown } | undefined)?.message;
            reject(new ApiError(code, `${method} ${path}: ${code} ${typeof msg === 'string' ? msg : text.slice(0, 200)}`));
          }
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer in ${this.#timeoutMs} ms`)));
      req.on('error', (err) => reject(new ApiError(0, `${method} ${path}: ${err.message}`)));
      req.end(data);
    });
  }

  /**
   * Opens a watch; `onEvent` gets each event, `onDone` once when the stream ends (null) or fails (an error with
   * `statusCode` for a non-200 answer). The handle aborts it.
   */
  async watch(path: string, query: Record<string, string>, onEvent: (type: string, obj: unknown) => void, onDone: (err: unknown) => void): Promise<WatchHandle> {
    await this.#limiter.take();
    const controller = await this.#watch.watch(path, query, (type: string, obj: unknown) => onEvent(type, obj), (err: unknown) => onDone(err ?? null));
    return { abort: () => controller.abort() };
  }
}
