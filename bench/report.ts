/** results.json (one object per scenario, with machine and command) and results.md. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import type { ScenarioResult } from './context.ts';

export interface Machine {
  cores: number;
  cpuModel: string;
  memoryBytes: number;
  node: string;
  platform: string;
}

export function machineInfo(): Machine {
  return { cores: availableParallelism(), cpuModel: cpus()[0]?.model ?? 'unknown', memoryBytes: totalmem(), node: process.version, platform: `${process.platform}-${process.arch}` };
}

export interface Report {
  startedAt: string;
  /** 1/5/15-minute load averages when the run started and ended: other work on the machine skews timings. */
  loadAverage: { start: number[]; end: number[] };
  finishedAt: string;
  command: string;
  machine: Machine;
  scenarios: (ScenarioResult & { machine: Machine; command: string })[];
}

const fmt = (v: unknown): string => {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(2);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if ('p50' in o && 'p99' in o) return `p50 ${fmt(o.p50)} / p99 ${fmt(o.p99)} (n=${fmt(o.count)})`;
    return JSON.stringify(v);
  }
  return String(v);
};

/** The figures worth a table cell (latency summaries, counts, ratios); the rest stays in results.json. */
function keyFigures(s: ScenarioResult): string {
  if (s.scenario === 'translation') {
    const rows = (s.figures.rows as (Record<string, number> & { permissive?: Record<string, number> })[] | undefined) ?? [];
    return rows
      .map(
        (r) =>
          `${r.services} svc: ${fmt(r.msPerSnapshot)} ms/snapshot, ${r.resourcesPerSnapshot} resources, ${r.bytesPerResource} B/resource` +
          (r.permissive ? `; permissive ${fmt(r.permissive.msPerSnapshot)} ms/snapshot, ${r.permissive.bytesPerSnapshot} B/snapshot` : ''),
      )
      .join('<br>');
  }
  if (s.scenario === 'wire-limit') {
    const pushes = (s.figures.pushes as Record<string, number>[] | undefined) ?? [];
    return [`connect: ${fmt(s.figures.connectMs)} ms`, ...pushes.map((p) => `${p.streams} x ${p.bytesPerStream} B: ${fmt(p.ms)} ms`)].join('<br>');
  }
  return Object.entries(s.figures)
    .filter(([k, v]) => k !== 'controllerMetrics' && k !== 'sampleErrors' && k !== 'pushedNotAffectedSample' && k !== 'steps' && !(Array.isArray(v) && v.length === 0))
    .map(([k, v]) => `${k}: ${fmt(v)}`)
    .join('<br>');
}

export function renderMarkdown(r: Report): string {
  const m = r.machine;
  const lines = [
    `# Trellis benchmark results`,
    '',
    `- command: \`${r.command}\``,
    `- machine: ${m.cores} cores (${m.cpuModel}), ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB, Node ${m.node}, ${m.platform}`,
    `- run: ${r.startedAt} .. ${r.finishedAt}; load average at start ${r.loadAverage.start.map((x) => x.toFixed(2)).join(' / ')}, at end ${r.loadAverage.end.map((x) => x.toFixed(2)).join(' / ')}`,
    '',
    '| scenario | parameters | figures | goal | met |',
    '|---|---|---|---|---|',
    ...r.scenarios.map(
      (s) =>
        `| ${s.scenario} | ${Object.entries(s.parameters)
          .map(([k, v]) => `${k}=${fmt(v)}`)
          .join(', ')} | ${keyFigures(s)} | ${s.goal ?? ''} | ${s.goalMet === true ? 'yes' : s.goalMet === false ? '**no**' : 'n/a'} |`,
    ),
    '',
  ];
  const notes = r.scenarios.flatMap((s) => (s.notes ?? []).map((n) => `- ${s.scenario}: ${n}`));
  if (notes.length) lines.push('## Notes', '', ...notes, '');
  return lines.join('\n');
}

export function writeReport(dir: string, r: Report): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'results.json'), JSON.stringify(r, null, 2) + '\n');
  writeFileSync(join(dir, 'results.md'), renderMarkdown(r));
}

export const loadAverage = (): number[] => loadavg().map((x) => Math.round(x * 100) / 100);
