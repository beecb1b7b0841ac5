import { readdirSync, readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controllerRef } from '@trellis/core';
import { formatNodeId, TypeUrls } from '@trellis/plugin-sdk';
import { objects as o, startTestMesh, type TestMesh } from '@trellis/plugin-sdk/testing';
import selfsigned from '@trellis/plugin-certs-selfsigned';
import { AdsConnection } from '../support/ads-client.ts';
import testBackend from '../controller/test-backend.ts';

const root = join(import.meta.dirname, '..', '..');
const dashboardsDir = join(root, 'deploy', 'dashboards');

interface Panel {
  title: string;
  targets?: { expr: string }[];
  panels?: Panel[];
}

const PROMQL_WORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

/** The metric names a PromQL expression reads (function names, label names and keywords left out). */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // strings
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // range selectors
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' '); // label lists
  const out = new Set<string>();
  for (const m of bare.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const after = bare.slice((m.index ?? 0) + m[0].length).trimStart();
    if (after.startsWith('(') || PROMQL_WORDS.has(m[0].toLowerCase())) continue;
    out.add(m[0]);
  }
  return [...out];
}

function dashboards(): { file: string; exprs: { panel: string; expr: string }[]; templates: string[] }[] {
  return readdirSync(dashboardsDir)
    .filter((f) => f.endsWith('.json'))
    .map((file) => {
      const d = JSON.parse(readFileSync(join(dashboardsDir, file), 'utf8')) as { panels: Panel[]; templating?: { list: { query?: string }[] } };
      const exprs: { panel: string; expr: string }[] = [];
      const walk = (ps: Panel[]) => {
        for (const p of ps) {
          for (const t of p.targets ?? []) exprs.push({ panel: p.title, expr: t.expr.replace(/\$\w+/g, 'x') });
          walk(p.panels ?? []);
        }
      };
      walk(d.panels);
      const templates = (d.templating?.list ?? []).flatMap((t) => (t.query ? [/label_values\((\w+)/.exec(t.query)?.[1] ?? ''] : []));
      return { file, exprs, templates };
    });
}

/** Envoy's metric names from the fixture (derived from Envoy's documented statistics; its header names the sources). */
function envoyNames(): Set<string> {
  const names = new Set<string>();
  for (const line of readFileSync(join(import.meta.dirname, 'fixtures', 'envoy-prometheus-stats.txt'), 'utf8').split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const [name, kind] = line.trim().split(/\s+/);
    if (!name) continue;
    if (kind === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
    else names.add(name);
  }
  return names;
}

describe('Grafana dashboards query only metrics that exist', () => {
  let mesh: TestMesh;
  let trellisNames: Set<string>;

  beforeAll(async () => {
    mesh = await startTestMesh({
      plugins: [{ definition: selfsigned, config: { stateDir: mkdtempSync(join(tmpdir(), 'trellis-dash-ca-')) } }, { definition: testBackend }],
      settings: { xds: { address: '127.0.0.1:0' } },
      objects: [o.ns('shop'), ...o.workload('shop', 'buyer', '10.0.0.1')],
    });
    // One proxy connected, so the per-proxy series exist too.
    const node = { uuid: randomUUID(), kind: 'sidecar', namespace: 'shop', serviceAccount: 'buyer', trustDomain: 'cluster.local' };
    const handle = mesh.resolve(controllerRef);
    const cert = await handle.certificates().bootstrap(node);
    const conn = new AdsConnection({ address: `127.0.0.1:${handle.ports().port}`, tls: { caPem: cert.trustBundlePem, certPem: cert.chainPem, keyPem: cert.privateKey.reveal() } });
    const s = conn.sotw();
    s.send({ node: { id: formatNodeId(node) }, type_url: TypeUrls.cluster });
    await s.next(20_000);
    const text = await (await fetch(`${mesh.adminUrl}/metrics`)).text();
    s.cancel();
    conn.close();
    // Every family the live /metrics declares (`# TYPE name kind`), with a histogram's series names.
    trellisNames = new Set<string>();
    for (const [, name, kind] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      if (!name) continue;
      if (kind === 'histogram') for (const s2 of ['_bucket', '_sum', '_count']) trellisNames.add(name + s2);
      else trellisNames.add(name);
    }
  });
  afterAll(async () => {
    await mesh?.stop();
  });

  it('finds the metric names in PromQL', () => {
    expect(metricNames('histogram_quantile(0.99, sum by (le, type) (rate(trellis_x_bucket{job=~"a"}[5m]))) / on() sum(foo_total)').sort()).toEqual(['foo_total', 'trellis_x_bucket']);
  });

  it.each(['trellis-control-plane.json', 'trellis-data-plane.json'])('%s: every queried metric is exported by Trellis or Envoy', (file) => {
    const d = dashboards().find((x) => x.file === file);
    expect(d?.exprs.length).toBeGreaterThan(5);
    const envoy = envoyNames();
    const unknown: string[] = [];
    const used = new Set<string>();
    for (const { panel, expr } of d!.exprs)
      for (const name of metricNames(expr)) {
        used.add(name);
        if (!trellisNames.has(name) && !envoy.has(name)) unknown.push(`${panel}: ${name}`);
      }
    for (const t of d!.templates) if (!trellisNames.has(t) && !envoy.has(t)) unknown.push(`template variable: ${t}`);
    expect(unknown).toEqual([]);
    // The control-plane dashboard reads Trellis's metrics, the data-plane one Envoy's.
    const prefix = file.includes('control') ? /^(trellis_|process_)/ : /^envoy_/;
    expect([...used].every((n) => prefix.test(n))).toBe(true);
  });
});
