/**
 * Scenario 3: one TrafficTarget edit at a time (a new source identity admitted). The affected identities are
 * the destination (its inbound RBAC) and the new source (its outbound); every other proxy must get nothing.
 * Convergence per affected proxy: file write -> ACK of its last changed response, measured by the clients.
 */
import type { CollectResult } from '../clients-protocol.ts';
import { debounceSettings, measure, proxiesOfService, type BenchContext, type ScenarioResult } from '../context.ts';
import { targetFile, targetObject, type GenService } from '../mesh-gen.ts';
import { wallNow } from '../sim-proxy.ts';
import { round, summarize } from '../stats.ts';

/**
 * Debounce windows between a write and a push: the file source's (default 100 ms; the kubernetes source has
 * none) + xDS quiet (default 50 ms; a key changed once waits that long), as the controller decoded its config.
 */
export const debounceMs = (ctx: BenchContext): number => ctx.controller.debounce.fileSourceMs + ctx.controller.debounce.xdsQuietMs;

export interface ChangeSample {
  latencies: number[];
  pushed: number;
  changed: number;
  affected: number;
  pushedNotAffected: number;
  affectedMissing: number;
  /** A few proxies pushed outside the affected set: `<service> <typeUrls>`, to find why. */
  unexpected: string[];
}

/** Picks a connected destination outside any split and a connected identity it does not admit yet. */
function pickEdit(ctx: BenchContext, k: number, used: Set<number>): [GenService, GenService] | undefined {
  const { services } = ctx.mesh;
  const connected = new Set(ctx.serviceOf);
  // Services in a TrafficSplit are left out: admitting a source to a split root changes nothing for it (its
  // traffic goes to the backends, whose own targets decide), so the affected set would not be {dest, source}.
  const inSplit = new Set(ctx.mesh.splits.flatMap((sp) => [sp.root, ...sp.backends].map((n) => `${sp.namespace}/${n}`)));
  const candidates = services.filter((s) => s.sources.length > 0 && connected.has(s.index) && !used.has(s.index) && !inSplit.has(`${s.namespace}/${s.name}`));
  if (candidates.length === 0) return undefined;
  const d = candidates[Math.floor((k * 7919) % candidates.length)]!;
  const src = services.find((s) => s.index !== d.index && !d.sources.includes(s.index) && connected.has(s.index) && !used.has(s.index));
  if (!src) return undefined;
  return [d, src];
}

/** One edit, measured: returns per-affected-proxy convergence and pushed/affected counts. */
export async function oneChange(ctx: BenchContext, k: number, used: Set<number>): Promise<ChangeSample | undefined> {
  const pick = pickEdit(ctx, k, used);
  if (!pick) return undefined;
  const [d, src] = pick;
  used.add(d.index);
  used.add(src.index);
  const affected = [...proxiesOfService(ctx, d.index), ...proxiesOfService(ctx, src.index)];
  await ctx.clients.call({ op: 'mark' });
  d.sources.push(src.index);
  const t0 = wallNow();
  ctx.mesh.publish(targetFile(ctx.mesh, d), targetObject(d, ctx.mesh.services));
  const r = await ctx.clients.call<CollectResult>({ op: 'collect', expect: affected, quietMs: 600, timeoutMs: 15_000 });
  const affectedSet = new Set(affected);
  const latencies: number[] = [];
  let changed = 0;
  for (const { i, events } of r.events) {
    const ch = events.filter((e) => e.changed);
    if (ch.length > 0) changed++;
    if (affectedSet.has(i) && ch.length > 0) latencies.push(Math.max(...ch.map((e) => e.t)) - t0);
  }
  const pushedSet = new Set(r.events.map((e) => e.i));
  const missed = r.missing.map((i) => ctx.mesh.services[ctx.serviceOf[i]!]!.name);
  if (missed.length) process.stderr.write(`[bench] edit ${k}: ${d.name} admits ${src.name}; no change reached ${missed.join(', ')}\n`);
  return {
    latencies,
    pushed: pushedSet.size,
    changed,
    affected: affected.length,
    pushedNotAffected: [...pushedSet].filter((i) => !affectedSet.has(i)).length,
    affectedMissing: r.missing.length,
    unexpected: r.events
      .filter((e) => !affectedSet.has(e.i))
      .slice(0, 3)
      .map((e) => `${ctx.mesh.services[ctx.serviceOf[e.i]!]!.name} (edit ${d.name} admits ${src.name}): ${e.events.map((x) => `${x.typeUrl.split('.').pop()}${x.changed ? '*' : ''}@${Math.round(x.t - t0)}ms`).join(' ')}`),
  };
}

export async function singleChange(ctx: BenchContext): Promise<{ result: ScenarioResult; pushedAvg: number; bytesPerPushed: number }> {
  const edits = ctx.args.quick ? 3 : 10;
  const used = new Set<number>();
  const samples: ChangeSample[] = [];
  const { usage } = await measure(ctx, async () => {
    for (let k = 0; k < edits; k++) {
      const s = await oneChange(ctx, k, used);
      if (s) samples.push(s);
    }
  });
  const lat = summarize(samples.flatMap((s) => s.latencies));
  const sum = (f: (s: ChangeSample) => number) => samples.reduce((a, s) => a + f(s), 0);
  const pushed = sum((s) => s.pushed);
  const affected = sum((s) => s.affected);
  const n = ctx.proxies.length;
  const result: ScenarioResult = {
    scenario: 'single-change',
    parameters: { source: ctx.args.source ?? 'file', proxies: n, services: ctx.args.services, edits: samples.length, change: 'TrafficTarget: admit one more source identity', debounceMs: debounceMs(ctx), debounce: debounceSettings(ctx), delta: ctx.args.delta },
    figures: {
      convergenceMs: lat,
      p99AfterDebounceMs: round(lat.p99 - debounceMs(ctx), 1),
      proxiesPushed: pushed,
      proxiesChanged: sum((s) => s.changed),
      proxiesAffected: affected,
      pushedNotAffected: sum((s) => s.pushedNotAffected),
      affectedNotConverged: sum((s) => s.affectedMissing),
      pushedNotAffectedSample: samples.flatMap((s) => s.unexpected).slice(0, 5),
      controllerCpuSeconds: usage.controllerCpuSeconds,
      controllerMainThreadCpuSeconds: usage.controllerMainThreadCpuSeconds,
      clientCpuSeconds: usage.clientCpuSeconds,
      controllerPeakRssBytes: usage.controllerPeakRssBytes,
      bytesSent: usage.bytesSent,
      controllerSnapshotBuild: usage.histograms.trellis_snapshot_build_duration_seconds ?? null,
      controllerMetrics: usage.metrics,
    },
    goal: 'p99 <= 200 ms after the debounce window at 2000 proxies; pushed == affected',
    goalMet: n >= 2000 ? lat.p99 - debounceMs(ctx) <= 200 && pushed === affected : null,
  };
  return { result, pushedAvg: samples.length ? pushed / samples.length : 0, bytesPerPushed: pushed ? usage.bytesSent / pushed : 0 };
}
