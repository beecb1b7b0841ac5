/**
 * Scenario 4: a mesh-wide change through the MeshConfig: every proxy gets new config. `egress` toggles the
 * passthrough cluster and listener chain (a small change everywhere); `permissive` gives every proxy every
 * service (a config explosion: bytes grow with proxies x services).
 */
import type { CollectResult } from '../clients-protocol.ts';
import { measure, type BenchContext, type Usage } from '../context.ts';
import { meshConfigObject, type MeshSettings } from '../mesh-gen.ts';
import { wallNow } from '../sim-proxy.ts';
import { round, summarize, type Summary } from '../stats.ts';

export interface MeshWideRun {
  settings: MeshSettings;
  wallMs: number;
  perProxy: Summary;
  converged: number;
  pushed: number;
  usage: Usage;
  bytesPerProxy: number;
}

export async function meshWideToggle(ctx: BenchContext, settings: MeshSettings): Promise<MeshWideRun> {
  const all = ctx.proxies.map((_, i) => i);
  await ctx.clients.call({ op: 'mark' });
  let t0 = 0;
  const { value: r, usage } = await measure(ctx, async () => {
    t0 = wallNow();
    ctx.mesh.publish(ctx.mesh.meshConfigFile, meshConfigObject(settings));
    return ctx.clients.call<CollectResult>({ op: 'collect', expect: all, quietMs: 1000, timeoutMs: Math.max(60_000, all.length * 30) });
  });
  const lat: number[] = [];
  for (const { events } of r.events) {
    const ch = events.filter((e) => e.changed);
    if (ch.length) lat.push(Math.max(...ch.map((e) => e.t)) - t0);
  }
  return {
    settings,
    wallMs: round(lat.length ? Math.max(...lat) : NaN, 1),
    perProxy: summarize(lat),
    converged: lat.length,
    pushed: r.events.length,
    usage,
    bytesPerProxy: usage.bytesSent / all.length,
  };
}
