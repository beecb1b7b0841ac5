/** Scenario 2 (and 1): every proxy connects at once; then the controller's memory per connected proxy. */
import type { ClientStats, ConnectResult } from '../clients-protocol.ts';
import { measure, type BenchContext, type ScenarioResult, type Usage } from '../context.ts';
import { round, summarize } from '../stats.ts';

export interface StormOutcome {
  result: ScenarioResult;
  usage: Usage;
  allReadyMs: number;
  bytesPerProxy: number;
}

export async function connectStorm(ctx: BenchContext): Promise<StormOutcome> {
  const n = ctx.proxies.length;
  const { value: r, usage } = await measure(ctx, () =>
    ctx.clients.call<ConnectResult>({ op: 'connect', address: ctx.controller.xdsAddress, delta: ctx.args.delta, timeoutMs: Math.max(60_000, n * 20), from: 0, to: n }),
  );
  const lat = summarize(r.readyMs);
  const goalMs = n >= 10_000 ? 60_000 : 10_000;
  const result: ScenarioResult = {
    scenario: 'connect-storm',
    parameters: { proxies: n, services: ctx.args.services, identities: new Set(ctx.serviceOf).size, delta: ctx.args.delta },
    figures: {
      allConfiguredMs: round(r.allReadyMs, 1),
      perProxyConfiguredMs: lat,
      notConfigured: r.notReady,
      errors: r.errors,
      resets: r.resets,
      refusedAndRetried: r.refusedAndRetried,
      lostAfterReady: r.lostAfterReady,
      clientMaxLoopBlockMs: r.maxLoopBlockMs,
      clientProcesses: ctx.clients.processes,
      sampleErrors: r.sampleErrors,
      controllerCpuSeconds: usage.controllerCpuSeconds,
      clientCpuSeconds: usage.clientCpuSeconds,
      clientRssBytes: usage.clientRssBytes,
      controllerPeakRssBytes: usage.controllerPeakRssBytes,
      bytesSent: usage.bytesSent,
      bytesPerProxy: Math.round(usage.bytesSent / n),
      responses: usage.responses,
      proxiesPushed: n - r.notReady,
      proxiesAffected: n,
      controllerCertificateIssuance: usage.histograms.trellis_certificates_issuance_duration_seconds ?? null,
      controllerSnapshotBuild: usage.histograms.trellis_snapshot_build_duration_seconds ?? null,
      controllerMetrics: usage.metrics,
    },
    goal: `${n >= 10_000 ? '10,000' : '2000'} proxies fully configured in <= ${goalMs / 1000} s, no errors`,
    goalMet: n >= 2000 ? r.notReady === 0 && r.errors === 0 && r.allReadyMs <= goalMs : null,
  };
  return { result, usage, allReadyMs: r.allReadyMs, bytesPerProxy: usage.bytesSent / n };
}

export async function idleMemory(ctx: BenchContext): Promise<ScenarioResult> {
  // Let the storm's garbage be collected and sockets settle before reading RSS.
  await new Promise((r) => setTimeout(r, ctx.args.quick ? 1000 : 5000));
  const s = ctx.controller.stats();
  const n = ctx.proxies.length;
  // Per proxy actually configured: after a storm that did not complete, dividing by all would flatter the figure.
  const { ready } = await ctx.clients.call<ClientStats>({ op: 'stats' });
  const perProxy = (s.rssBytes - ctx.baselineRssBytes) / Math.max(1, ready);
  return {
    scenario: 'idle-memory',
    parameters: { proxies: n, services: ctx.args.services, delta: ctx.args.delta },
    figures: {
      controllerRssBytes: s.rssBytes,
      controllerBaselineRssBytes: ctx.baselineRssBytes,
      controllerPeakRssBytes: s.peakRssBytes,
      proxiesConfigured: ready,
      bytesPerProxy: Math.round(perProxy),
      kibPerProxy: round(perProxy / 1024, 1),
    },
    goal: '<= 150 KB per connected proxy at 2000 proxies',
    goalMet: n >= 2000 ? ready === n && perProxy <= 150 * 1024 : null,
  };
}
