/**
 * Scenario 8: the ceiling. Doubles the connected proxies step by step (new identities' proxies spread over
 * the mesh) and measures single-change convergence and controller RSS at each step, until p99 > 1 s, RSS >
 * 4 GiB, proxies fail to configure, or the time budget runs out.
 */
import { randomUUID } from 'node:crypto';
import type { ConnectResult } from '../clients-protocol.ts';
import type { BenchContext, ScenarioResult } from '../context.ts';
import { summarize } from '../stats.ts';
import { oneChange } from './single-change.ts';

const RSS_LIMIT = 4 * 2 ** 30;
const P99_LIMIT_MS = 1000;

export async function ceiling(ctx: BenchContext): Promise<ScenarioResult> {
  const deadline = Date.now() + ctx.args.ceilingBudgetS * 1000;
  const steps: Record<string, unknown>[] = [];
  let stop = 'time budget';
  let best = ctx.proxies.length;
  const m = ctx.mesh.services.length;
  for (let step = 0; Date.now() < deadline; step++) {
    const from = ctx.proxies.length;
    const to = from * 2;
    const added = Array.from({ length: to - from }, (_, k) => {
      const svc = (from + k) % m;
      const s = ctx.mesh.services[svc]!;
      ctx.serviceOf.push(svc);
      return { uuid: randomUUID(), namespace: s.namespace, serviceAccount: s.serviceAccount };
    });
    ctx.proxies.push(...added);
    await ctx.clients.call({ op: 'add', caStateDir: ctx.controllerCaDir, trustDomain: 'cluster.local', proxies: added });
    const t0 = Date.now();
    const c = await ctx.clients.call<ConnectResult>({ op: 'connect', address: ctx.controller.xdsAddress, delta: ctx.args.delta, timeoutMs: Math.max(60_000, (to - from) * 20), from, to });
    const connectMs = Date.now() - t0;
    const lat: number[] = [];
    let pushed = 0;
    let affected = 0;
    const unexpected: string[] = [];
    const used = new Set<number>();
    for (let k = 0; k < 5; k++) {
      const s = await oneChange(ctx, 1000 + step * 10 + k, used);
      if (!s) break;
      lat.push(...s.latencies);
      pushed += s.pushed;
      affected += s.affected;
      unexpected.push(...s.unexpected);
    }
    const conv = summarize(lat);
    const st = ctx.controller.stats();
    steps.push({ proxies: to, connectMs, notConfigured: c.notReady, errors: c.errors, resets: c.resets, refusedAndRetried: c.refusedAndRetried, lostAfterReady: c.lostAfterReady, clientMaxLoopBlockMs: c.maxLoopBlockMs, convergenceMs: conv, proxiesPushed: pushed, proxiesAffected: affected, pushedNotAffectedSample: unexpected.slice(0, 3), controllerRssBytes: st.rssBytes, controllerPeakRssBytes: st.peakRssBytes });
    if (c.notReady > 0) {
      stop = `${c.notReady} proxies not configured at ${to}`;
      break;
    }
    if (conv.p99 > P99_LIMIT_MS) {
      stop = `p99 ${conv.p99} ms > ${P99_LIMIT_MS} ms at ${to}`;
      break;
    }
    if (st.peakRssBytes > RSS_LIMIT) {
      stop = `peak RSS ${st.peakRssBytes} > 4 GiB at ${to}`;
      break;
    }
    best = to;
  }
  return {
    scenario: 'ceiling',
    parameters: { startProxies: steps.length ? (steps[0]!.proxies as number) / 2 : ctx.proxies.length, services: ctx.args.services, budgetSeconds: ctx.args.ceilingBudgetS, delta: ctx.args.delta },
    figures: { maxProxiesWithinLimits: best, stoppedBy: stop, steps },
    goal: '>= 10,000 proxies with p99 single-change convergence <= 1 s and RSS <= 4 GiB',
    goalMet: best >= 10_000 ? true : stop === 'time budget' ? null : false,
  };
}
