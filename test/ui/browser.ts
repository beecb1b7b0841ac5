// Headless Chromium (Debian's, never a downloaded build) for the mesh page tests, and the page's test hook.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildUi } from '../../ui/scripts/build.mjs';
import { requireTool, tools } from '../support/tools.ts';

/** Screenshots the tests keep (gitignored): test-artifacts/ui/. */
export const artifactsDir = resolve(import.meta.dirname, '../../test-artifacts/ui');

/** Builds the page from its sources into @trellis/ui's dist/assets, where the admin API serves it from. */
export async function buildPage(): Promise<void> {
  await buildUi();
}

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: requireTool(tools.chromium),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
}

export interface PageState {
  renders: number;
  generation: number | undefined;
  live: boolean;
  nodes: { id: string; type: string; classes: string[]; visible: boolean }[];
  edges: { id: string; type: string; source: string; target: string; label: string; visible: boolean }[];
  matches: string[];
}

export const state = (page: Page): Promise<PageState> =>
  page.evaluate(() => (globalThis as unknown as { trellisUi: { state(): PageState } }).trellisUi.state());

/** Waits until the page's drawn state satisfies `ok` (the page updates itself; nothing here reloads it). */
export async function waitForState(page: Page, ok: (s: PageState) => boolean, timeoutMs = 30_000): Promise<PageState> {
  const deadline = Date.now() + timeoutMs;
  let last: PageState | undefined;
  while (Date.now() < deadline) {
    last = await page.evaluate(() => (globalThis as unknown as { trellisUi?: { state(): PageState } }).trellisUi?.state());
    if (last && ok(last)) return last;
    await page.waitForTimeout(50);
  }
  throw new Error(`the page did not reach the expected state in ${timeoutMs} ms; last: ${JSON.stringify(last)?.slice(0, 2000)}`);
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(artifactsDir, { recursive: true });
  const file = join(artifactsDir, name);
  await page.screenshot({ path: file });
  return file;
}
