/**
 * The mesh page at 1000 services (50 namespaces of 20, each service its own identity, a call chain through
 * every namespace): it loads, groups by namespace, and search and the namespace filter find one service.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { KubeObject } from '@trellis/plugin-sdk';
import { objects as o } from '@trellis/plugin-sdk/testing';
import { startFileMesh, type FileMesh } from './bookstore-mesh.ts';
import { buildPage, launch, screenshot, waitForState } from './browser.ts';

const NAMESPACES = 50;
const PER_NAMESPACE = 20;
const nsName = (k: number): string => `team-${String(k).padStart(2, '0')}`;
const svcName = (j: number): string => `svc-${String(j).padStart(2, '0')}`;
const http = [{ kind: 'HTTPRouteGroup', name: 'all' }];

/** One JSON List per namespace: workloads, a route group, and a TrafficTarget from the previous service in the chain. */
function writeMesh(dir: string): void {
  for (let k = 0; k < NAMESPACES; k++) {
    const ns = nsName(k);
    const items: KubeObject[] = [o.ns(ns), o.routeGroup(ns, 'all', [{ name: 'any', pathRegex: '.*' }])];
    for (let j = 0; j < PER_NAMESPACE; j++) {
      items.push(...o.workload(ns, svcName(j), `10.${k}.${j}.1`));
      const from: [string, string] | undefined = j > 0 ? [ns, svcName(j - 1)] : k > 0 ? [nsName(k - 1), svcName(PER_NAMESPACE - 1)] : undefined;
      if (from) items.push(o.target(ns, `to-${svcName(j)}`, svcName(j), [from], http));
    }
    writeFileSync(join(dir, `${ns}.json`), JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
  }
}

describe('the mesh page at 1000 services', () => {
  let fm: FileMesh;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    await buildPage();
    [fm, browser] = await Promise.all([startFileMesh({ fill: writeMesh }), launch()]);
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  });
  afterAll(async () => {
    await browser?.close();
    await fm?.stop();
  });

  it('loads every service and identity grouped by namespace, and search and the namespace filter find one', async () => {
    const started = Date.now();
    await page.goto(`${fm.mesh.adminUrl}/ui/`);
    const s = await waitForState(page, (x) => x.nodes.filter((n) => n.type === 'service').length === NAMESPACES * PER_NAMESPACE, 120_000);
    console.log(`1000 services: page drawn ${Date.now() - started} ms after navigation`);
    expect(s.nodes.filter((n) => n.type === 'identity')).toHaveLength(NAMESPACES * PER_NAMESPACE);
    // The chain: 19 calls inside each namespace plus one into every namespace but the first.
    expect(s.edges.filter((e) => e.type === 'allow')).toHaveLength(NAMESPACES * PER_NAMESPACE - 1);
    expect(s.edges).toContainEqual(expect.objectContaining({ type: 'allow', source: 'id:team-06/svc-19', target: 'svc:team-07/svc-00' }));
    const namespaces = await page.evaluate(() => (globalThis as unknown as { trellisUi: { cy(): { nodes(s: string): { length: number } } } }).trellisUi.cy().nodes('.namespace').length);
    expect(namespaces).toBe(NAMESPACES);
    await screenshot(page, 'large-1000.png');

    await page.fill('#search', 'team-07/svc-13');
    await expect.poll(() => page.locator('html').getAttribute('data-matches'), { timeout: 10_000 }).toBe('2');
    const found = await waitForState(page, (x) => x.matches.length === 2);
    expect(found.matches.sort()).toEqual(['id:team-07/svc-13', 'svc:team-07/svc-13']);
    expect(await page.locator('#summary').textContent()).toBe('2 matches');
    const faded = found.nodes.filter((n) => n.classes.includes('faded')).map((n) => n.id);
    // Everything but the matches and their neighbours (svc-12 calls it, it calls svc-14, and its own backs edge) fades.
    expect(faded).not.toContain('svc:team-07/svc-13');
    expect(faded).not.toContain('id:team-07/svc-12');
    expect(faded).toContain('svc:team-30/svc-05');
    await page.keyboard.press('Enter');
    await screenshot(page, 'large-1000-search.png');

    await page.fill('#search', '');
    await page.selectOption('#namespace', 'team-07');
    const filtered = await waitForState(page, (x) => x.nodes.filter((n) => n.visible).length < x.nodes.length);
    const visible = filtered.nodes.filter((n) => n.visible).map((n) => n.id);
    // The namespace's 40 nodes, plus the caller from team-06 and the callee in team-08 at its ends.
    expect(visible.filter((id) => id.includes('team-07/'))).toHaveLength(2 * PER_NAMESPACE);
    expect(visible.sort()).toEqual(expect.arrayContaining(['id:team-06/svc-19', 'svc:team-08/svc-00']));
    expect(visible).toHaveLength(2 * PER_NAMESPACE + 2);
    await screenshot(page, 'large-1000-namespace.png');
  }, 240_000);
});
