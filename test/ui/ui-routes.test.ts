/**
 * /ui's static files and /ui/events over real HTTP: the page's files only (no path reaches the file system),
 * a change event after a store change and after a status-only change, and a controller that stops while a page
 * is connected.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { objects as o, startTestMesh, type TestMesh } from '@trellis/plugin-sdk/testing';
import selfsigned from '@trellis/plugin-certs-selfsigned';
import testBackend from '../controller/test-backend.ts';
import { buildPage } from './browser.ts';

/** Reads server-sent events from a streaming fetch body. */
class EventReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  #buf = '';
  constructor(body: ReadableStream<Uint8Array>) {
    this.#reader = body.getReader();
  }
  async next(timeoutMs = 15_000): Promise<{ event: string; data: unknown }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = this.#buf.indexOf('\n\n');
      if (end >= 0) {
        const block = this.#buf.slice(0, end);
        this.#buf = this.#buf.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event) return { event, data: data === undefined ? undefined : JSON.parse(data) };
        continue;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no event in time');
      let timer: ReturnType<typeof setTimeout> | undefined;
      const chunk = await Promise.race([this.#reader.read(), new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error('no event in time')), left)))]).finally(() => clearTimeout(timer));
      if (chunk.done) throw new Error('the stream ended');
      this.#buf += new TextDecoder().decode(chunk.value);
    }
  }
  cancel(): Promise<void> {
    return this.#reader.cancel();
  }
}

describe('/ui routes', () => {
  let mesh: TestMesh;
  beforeAll(async () => {
    await buildPage();
    mesh = await startTestMesh({
      plugins: [{ definition: selfsigned, config: { stateDir: mkdtempSync(join(tmpdir(), 'trellis-ui-routes-')) } }, { definition: testBackend }],
      settings: { xds: { address: '127.0.0.1:0' } },
      objects: [o.ns('shop'), ...o.workload('shop', 'buyer', '10.0.0.1'), ...o.workload('shop', 'store', '10.0.0.2')],
    });
  });
  afterAll(async () => {
    await mesh?.stop();
  });

  it('serves the built page, and nothing but its files', async () => {
    const redirect = await fetch(`${mesh.adminUrl}/ui`, { redirect: 'manual' });
    expect([redirect.status, redirect.headers.get('location')]).toEqual([302, '/ui/']);
    const html = await fetch(`${mesh.adminUrl}/ui/`);
    expect(html.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(html.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await html.text()).toContain('<script src="app.js"></script>');
    const js = await fetch(`${mesh.adminUrl}/ui/app.js`);
    expect([js.status, js.headers.get('content-type')]).toEqual([200, 'text/javascript; charset=utf-8']);
    expect((await js.text()).length).toBeGreaterThan(100_000);
    // HEAD answers without holding a stream open.
    const head = await fetch(`${mesh.adminUrl}/ui/events`, { method: 'HEAD', signal: AbortSignal.timeout(10_000) });
    expect([head.status, head.headers.get('content-type')]).toEqual([200, 'text/event-stream; charset=utf-8']);
    for (const path of ['/ui/%2e%2e/package.json', '/ui/..%2fpackage.json', '/ui/index.ts', '/ui/app.js.map', '/ui/sub/app.js'])
      expect((await fetch(`${mesh.adminUrl}${path}`)).status, path).toBe(404);
  });

  it('/ui/events: hello, then a change after a store change and after a status-only change (an invalid update)', async () => {
    const res = await fetch(`${mesh.adminUrl}/ui/events`);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const events = new EventReader(res.body as ReadableStream<Uint8Array>);
    expect((await events.next()).event).toBe('hello');
    mesh.apply(o.routeGroup('shop', 'all', [{ name: 'any', pathRegex: '.*' }]));
    expect(await events.next()).toMatchObject({ event: 'change', data: { reason: 'mesh' } });
    // Rejected by validation: the store keeps no object and emits no change, only its status list changes.
    mesh.apply(o.target('shop', 'bad', 'store', ['buyer'], [{ kind: 'NoSuchRoute', name: 'x' }]));
    expect(await events.next()).toMatchObject({ event: 'change', data: { reason: 'status' } });
    const topology = await mesh.getJson<{ policies: { invalid: { name: string }[] } }>('/debug/topology');
    expect(topology.body.policies.invalid.map((p) => p.name)).toEqual(['bad']);
    await events.cancel();
  });

  it('stops promptly while a page holds an event stream open', async () => {
    const other = await startTestMesh({
      plugins: [{ definition: selfsigned, config: { stateDir: mkdtempSync(join(tmpdir(), 'trellis-ui-stop-')) } }, { definition: testBackend }],
      settings: { xds: { address: '127.0.0.1:0' } },
    });
    const res = await fetch(`${other.adminUrl}/ui/events`);
    const events = new EventReader(res.body as ReadableStream<Uint8Array>);
    expect((await events.next()).event).toBe('hello');
    await other.stop();
    await expect(events.next()).rejects.toThrow('the stream ended');
  }, 20_000);
});
