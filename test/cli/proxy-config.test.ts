import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runTrellis } from '../support/cli.ts';

const samples = resolve(import.meta.dirname, '../data/osm-samples');
const work = mkdtempSync(join(tmpdir(), 'trellis-pc-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const run = (args: string[]) => runTrellis(args);

describe('trellis proxy-config validate', () => {
  it("accepts real Envoy's config dump and OSM's bootstrap", async () => {
    expect((await run(['proxy-config', 'validate', join(samples, 'sample-envoy-config-dump-bookbuyer.json')])).code).toBe(0);
    const boot = await run(['proxy-config', 'validate', join(samples, 'expected_envoy_bootstrap_config.yaml')]);
    expect(boot.out).toContain('valid bootstrap');
  });

  it('names the field and type of every problem and exits 2', async () => {
    const file = join(work, 'cluster.json');
    writeFileSync(file, JSON.stringify({ '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster', name: 'x', conect_timeout: '1s', lb_policy: 'ROUND_ROBINN' }));
    const r = await run(['proxy-config', 'validate', file]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('has no field "conect_timeout"');
    expect(r.err).toContain('ROUND_ROBINN');
  });
});
