import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface HttpResponse {
  readonly status: number;
  readonly text: string;
}

/** Why an attempt failed in a way worth retrying (connection error or timeout). */
export class TransportError extends Error {}

/** One HTTP(S) request with a total timeout; no retries here. */
export function send(
  url: URL,
  opts: { method: string; headers: Record<string, string>; body?: string; timeoutMs: number; ca?: string },
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const fn = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(opts.body));
    }
    const req = fn(url, { method: opts.method, headers, ...(opts.ca ? { ca: opts.ca } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', (err) => {
        clearTimeout(timer);
        reject(new TransportError(`response: ${err.message}`));
      });
    });
    const timer = setTimeout(() => req.destroy(new TransportError(`timed out after ${opts.timeoutMs}ms`)), opts.timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err instanceof TransportError ? err : new TransportError(err.message || (err as NodeJS.ErrnoException).code || 'connection failed'));
    });
    req.end(opts.body);
  });
}
