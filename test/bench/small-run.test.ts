/**
 * Keeps the benchmark harness from rotting: a small run (200 proxies, 100 services, the fast scenarios) must
 * produce a report of the right shape. Timings are never asserted, only that every figure is a finite number
 * where one is expected, and that the machine and command are recorded.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..', '..');
const out = mkdtempSync(join(tmpdir(), 'trellis-bench-test-'));
const SCENARIOS = 'idle-memory,connect-storm,single-change,mesh-wide,endpoint-churn,certificates,translation';

type Json = Record<string, unknown>;
const isSummary = (v: unknown): v is Json => typeof v === 'object' && v !== null && 'p50' in v && 'p99' in v;
const finite = (v: unknown) => typeof v === 'number' && Number.isFinite(v);

describe('npm run bench (small run)', () => {
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  // No retry: every phase of the harness has a deadline, so a run either completes or fails with the phase named.
  it('writes results.json and results.md with one well-formed object per scenario', { timeout: 220_000 }, () => {
    const run = spawnSync(process.execPath, ['bin/run-ts.js', 'bench/main.ts', '--proxies', '200', '--services', '100', '--quick', '--scenario', SCENARIOS, '--out', out], {
      cwd: root,
      encoding: 'utf8',
      // The run takes ~35 s on a quiet machine.
      timeout: 200_000,
    });
    expect(run.status, `bench exited ${run.status ?? run.signal}; stderr tail:\n${run.stderr.slice(-3000)}`).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Json & { scenarios: Json[] };
    expect(readFileSync(join(out, 'results.md'), 'utf8')).toContain('| scenario |');

    const machine = report.machine as Json;
    expect(finite(machine.cores) && (machine.cores as number) > 0).toBe(true);
    expect(finite(machine.memoryBytes)).toBe(true);
    expect(machine.node).toBe(process.version);
    expect(report.command).toContain('--proxies 200');

    const byName = new Map(report.scenarios.map((s) => [s.scenario as string, s]));
    for (const name of ['connect-storm', 'idle-memory', 'single-change', 'mesh-wide-egress-on', 'mesh-wide-egress-off', 'mesh-wide-permissive-on', 'mesh-wide-permissive-off', 'endpoint-churn-10/s', 'endpoint-churn-30/s', 'certificates', 'translation', 'wire-limit'])
      expect(byName.has(name), `scenario ${name} missing`).toBe(true);
    for (const s of report.scenarios) {
      expect(s.notes ?? [], `${s.scenario as string} stopped`).not.toContainEqual(expect.stringMatching(/^(stopped|skipped):/));
      expect(s.machine, `${s.scenario as string}.machine`).toEqual(machine);
      expect(typeof s.command).toBe('string');
      expect(typeof s.parameters).toBe('object');
      expect(typeof s.figures).toBe('object');
    }

    const f = (name: string) => byName.get(name)!.figures as Json;
    const numbers: [string, string][] = [
      ['connect-storm', 'allConfiguredMs'],
      ['connect-storm', 'controllerCpuSeconds'],
      ['connect-storm', 'clientCpuSeconds'],
      ['connect-storm', 'controllerPeakRssBytes'],
      ['connect-storm', 'bytesSent'],
      ['connect-storm', 'proxiesPushed'],
      ['connect-storm', 'ratioToWireLimit'],
      ['idle-memory', 'bytesPerProxy'],
      ['single-change', 'proxiesPushed'],
      ['single-change', 'proxiesAffected'],
      ['single-change', 'ratioToWireLimit'],
      ['mesh-wide-egress-on', 'wallMs'],
      ['mesh-wide-egress-on', 'ratioToWireLimit'],
      ['mesh-wide-egress-on', 'bytesSent'],
      ['mesh-wide-permissive-on', 'wallMs'],
      ['endpoint-churn-30/s', 'controllerCores'],
      ['certificates', 'certsPerSecond'],
    ];
    for (const [s, k] of numbers) expect(finite(f(s)[k]), `${s}.${k} = ${JSON.stringify(f(s)[k])}`).toBe(true);
    for (const [s, k] of [['connect-storm', 'perProxyConfiguredMs'], ['single-change', 'convergenceMs'], ['endpoint-churn-10/s', 'edsConvergenceMs'], ['certificates', 'latencyMs']] as const) {
      const v = f(s)[k];
      expect(isSummary(v), `${s}.${k}`).toBe(true);
      expect(finite((v as Json).p50) && finite((v as Json).p99), `${s}.${k} percentiles`).toBe(true);
    }
    // The small run configures every proxy; the counts are exact, not timings.
    expect(f('connect-storm').proxiesPushed).toBe(200);
    const rows = f('translation').rows as Json[];
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) for (const k of ['msPerSnapshot', 'bytesPerResource', 'resourcesPerSnapshot']) expect(finite(r[k]), `translation.${k}`).toBe(true);
    expect(finite(f('wire-limit').connectMs)).toBe(true);
    const wire = f('wire-limit').pushes as Json[];
    expect(wire.length).toBeGreaterThan(0);
    for (const w of wire) expect(finite(w.ms) && w.acked === w.streams).toBe(true);
  });
});
