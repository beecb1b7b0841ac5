/**
 * The mesh page at /ui in headless Chromium against a controller on the file source (a copy of
 * examples/bookstore): it draws the bookstore's nodes and edges, follows file edits through /ui/events without
 * a reload, lists an invalid policy with its reason, and its explain form degrades to a message where the
 * controller has no /debug/explain. Screenshots go to test-artifacts/ui/.
 */
import { randomUUID } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { controllerRef } from '@trellis/core';
import { formatNodeId, TypeUrls, type NodeIdentity } from '@trellis/plugin-sdk';
import { AdsConnection } from '../support/ads-client.ts';
import { startFileMesh, type FileMesh } from './bookstore-mesh.ts';
import { buildPage, launch, screenshot, state, waitForState, type PageState } from './browser.ts';

const allowEdges = (s: PageState): string[] => s.edges.filter((e) => e.type === 'allow').map((e) => `${e.source} -> ${e.target}`).sort();

describe('the mesh page on the bookstore mesh', () => {
  let fm: FileMesh;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    await buildPage();
    [fm, browser] = await Promise.all([startFileMesh(), launch()]);
    page = await browser.newPage({ viewport: { width: 1400, height: 800 } });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
    await page.goto(`${fm.mesh.adminUrl}/ui`);
  });
  afterAll(async () => {
    await browser?.close();
    await fm?.stop();
  });

  it('draws every service and identity in its namespace, the allowed calls and the split with its weights', async () => {
    const s = await waitForState(page, (x) => x.renders > 0 && x.nodes.some((n) => n.id === 'svc:bookwarehouse/bookwarehouse') && allowEdges(x).length >= 5);
    expect(s.nodes.map((n) => n.id).sort()).toEqual([
      'id:bookbuyer/bookbuyer',
      'id:bookstore/bookstore-v1',
      'id:bookstore/bookstore-v2',
      'id:bookthief/bookthief',
      'id:bookwarehouse/bookwarehouse',
      'svc:bookstore/bookstore',
      'svc:bookstore/bookstore-v1',
      'svc:bookstore/bookstore-v2',
      'svc:bookwarehouse/bookwarehouse',
    ]);
    expect(allowEdges(s)).toEqual([
      'id:bookbuyer/bookbuyer -> svc:bookstore/bookstore',
      'id:bookbuyer/bookbuyer -> svc:bookstore/bookstore-v1',
      'id:bookbuyer/bookbuyer -> svc:bookstore/bookstore-v2',
      'id:bookstore/bookstore-v1 -> svc:bookwarehouse/bookwarehouse',
      'id:bookstore/bookstore-v2 -> svc:bookwarehouse/bookwarehouse',
    ]);
    // The thief may call nothing: no edge leaves it.
    expect(s.edges.filter((e) => e.source === 'id:bookthief/bookthief')).toEqual([]);
    expect(s.edges.filter((e) => e.type === 'split').map((e) => [e.source, e.target, e.label])).toEqual([
      ['svc:bookstore/bookstore', 'svc:bookstore/bookstore-v1', '50%'],
      ['svc:bookstore/bookstore', 'svc:bookstore/bookstore-v2', '50%'],
    ]);
    // Namespaces are compound nodes holding their members.
    const parents = await page.evaluate(() => {
      const cy = (globalThis as unknown as { trellisUi: { cy(): { nodes(s: string): { map<T>(f: (n: { id(): string; parent(): { id(): string } }) => T): T[] } } } }).trellisUi.cy();
      return cy.nodes(':childless').map((n) => [n.id(), n.parent().id()]);
    });
    expect(Object.fromEntries(parents)).toMatchObject({ 'svc:bookstore/bookstore-v1': 'ns:bookstore', 'id:bookbuyer/bookbuyer': 'ns:bookbuyer' });
    expect(await page.locator('#summary').textContent()).toContain('4 namespaces · 4 services · 5 identities · 5 allowed');
    await screenshot(page, 'bookstore.png');
    expect(pageErrors).toEqual([]);
  });

  it('shows the TrafficTargets and routes of an edge when it is selected', async () => {
    await page.evaluate(() => {
      const cy = (globalThis as unknown as { trellisUi: { cy(): { getElementById(id: string): { emit(e: string): void } } } }).trellisUi.cy();
      cy.getElementById('allow:id:bookstore/bookstore-v1->svc:bookwarehouse/bookwarehouse').emit('tap');
    });
    const details = page.locator('#tab-details');
    await expect.poll(() => details.textContent(), { timeout: 10_000 }).toContain('bookwarehouse/bookwarehouse');
    expect(await details.textContent()).toContain('POST /bookwarehouse\\.Bookwarehouse/RestockBooks');
    await page.evaluate(() => {
      const cy = (globalThis as unknown as { trellisUi: { cy(): { getElementById(id: string): { select(): void } } } }).trellisUi.cy();
      cy.getElementById('allow:id:bookstore/bookstore-v1->svc:bookwarehouse/bookwarehouse').select();
    });
    // The picture in docs/ui.md (docs/images/ui-bookstore.png is a copy of it).
    await screenshot(page, 'bookstore-edge.png');
  });

  it('lists a connected proxy and its sync state: pending until it ACKs, then synced', async () => {
    const handle = fm.mesh.resolve(controllerRef);
    const node: NodeIdentity = { uuid: randomUUID(), kind: 'sidecar', namespace: 'bookbuyer', serviceAccount: 'bookbuyer', trustDomain: 'cluster.local' };
    const cert = await handle.certificates().bootstrap(node);
    const conn = new AdsConnection({ address: `127.0.0.1:${handle.ports().port}`, tls: { caPem: cert.trustBundlePem, certPem: cert.chainPem, keyPem: cert.privateKey.reveal() } });
    const stream = conn.sotw();
    try {
      stream.send({ node: { id: formatNodeId(node) }, type_url: TypeUrls.cluster, resource_names: [] });
      const r = await stream.next(10_000);
      const row = page.locator(`[data-proxy="${formatNodeId(node)}"]`);
      await expect.poll(() => row.textContent(), { timeout: 30_000 }).toContain('pending');
      expect((await state(page)).nodes.find((n) => n.id === 'id:bookbuyer/bookbuyer')?.classes).toContain('pending');
      stream.send({ type_url: TypeUrls.cluster, resource_names: [], version_info: r.version_info, response_nonce: r.nonce });
      await expect.poll(() => row.textContent(), { timeout: 30_000 }).toContain('synced');
      await waitForState(page, (x) => !(x.nodes.find((n) => n.id === 'id:bookbuyer/bookbuyer')?.classes.includes('pending') ?? true));
      expect(await row.textContent()).toContain('bookbuyer/bookbuyer');
    } finally {
      stream.cancel();
      conn.close();
    }
  });

  it('follows a file edit without a reload: the thief gets its edge when its TrafficTarget is enabled', async () => {
    const before = await state(page);
    await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 42));
    renameSync(join(fm.dir, 'policies/bookthief-allow.yaml.disabled'), join(fm.dir, 'policies/bookthief-allow.yaml'));
    const after = await waitForState(page, (x) => allowEdges(x).includes('id:bookthief/bookthief -> svc:bookstore/bookstore-v1'));
    expect(after.renders).toBeGreaterThan(before.renders);
    expect(after.live).toBe(true);
    // The same document (not a reload) redrew itself.
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(42);
    await screenshot(page, 'bookstore-thief-allowed.png');
  });

  it('lists an invalid policy with its reason when a file gets one (a status change, not an object change)', async () => {
    writeFileSync(
      join(fm.dir, 'policies/broken.yaml'),
      [
        'apiVersion: access.smi-spec.io/v1alpha3',
        'kind: TrafficTarget',
        'metadata: { name: broken, namespace: bookstore }',
        'spec:',
        '  destination: { kind: ServiceAccount, name: bookstore-v1, namespace: bookstore }',
        '  rules: [{ kind: NoSuchRoute, name: x }]',
        '  sources: [{ kind: ServiceAccount, name: bookbuyer, namespace: bookbuyer }]',
        '',
      ].join('\n'),
    );
    const item = page.locator('[data-policy="TrafficTarget/bookstore/broken"]');
    await item.waitFor({ state: 'attached', timeout: 30_000 });
    expect(await item.textContent()).toMatch(/invalid.*rules/s);
    expect(await page.locator('#policy-count').textContent()).not.toBe('');
    await page.locator('nav button[data-tab=policies]').click();
    await screenshot(page, 'bookstore-invalid-policy.png');
  });

  it('explain: shows the answer of /debug/explain, or says the controller has none', async () => {
    const q = new URLSearchParams({ from: 'bookbuyer/bookbuyer', to: 'bookstore/bookstore', path: '/bookstore.Bookstore/BuyBook', method: 'POST' });
    const direct = await fetch(`${fm.mesh.adminUrl}/debug/explain?${q.toString()}`);
    await page.locator('nav button[data-tab=explain]').click();
    await page.fill('#explain-form [name=from]', 'bookbuyer/bookbuyer');
    await page.fill('#explain-form [name=to]', 'bookstore/bookstore');
    await page.fill('#explain-form [name=path]', '/bookstore.Bookstore/BuyBook');
    await page.fill('#explain-form [name=method]', 'POST');
    await page.click('#explain-form button[type=submit]');
    const result = page.locator('#explain-result [data-explain]');
    await result.waitFor({ timeout: 10_000 });
    if (direct.status === 404) {
      expect(await result.getAttribute('data-explain')).toBe('unavailable');
      expect(await result.textContent()).toBe('explain is not available on this controller');
    } else {
      const body = (await direct.json()) as { allowed: boolean; reasons: string[] };
      expect(await result.getAttribute('data-explain')).toBe(body.allowed ? 'allowed' : 'denied');
      expect(await page.locator('#explain-result .reasons li').allTextContents()).toEqual(body.reasons);
    }
    await screenshot(page, 'bookstore-explain.png');
  });
});
